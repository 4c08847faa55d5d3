"""A customer manages keys in a real headless Chromium."""

import pytest
import requests

from billing.keys import hash_key
from billing.models import ApiKey

pytestmark = pytest.mark.django_db(transaction=True)

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def test_a_customer_creates_a_key_copies_it_once_and_revokes_it(
    page, sign_in, new_key_copied, live_server, alice, catalog
):
    sign_in("alice", "alice-pass-1")
    copied = new_key_copied("research agent")
    assert copied.startswith("monid_test_") and ApiKey.objects.get(label="research agent").key_hash == hash_key(copied)

    def call():
        return requests.post(
            f"{live_server.url}/v1/run", json=PDL_MATCH, timeout=10, headers={"Authorization": f"Bearer {copied}"}
        )

    assert call().status_code == 200
    page.reload()
    assert copied not in page.content()

    page.click("text=Revoke…")
    page.click("form.danger button[type=submit]")
    assert "revoked" in page.inner_text("ul.messages")
    assert ApiKey.objects.get(label="research agent").revoked_at is not None
    assert call().status_code == 401
