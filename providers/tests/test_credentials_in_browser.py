"""An operator sets a provider's credential in the dashboard, in a real headless Chromium."""

import pytest
import requests
from cryptography.fernet import Fernet

from conftest import PDL_KEY
from providers.models import CatalogChange, Provider

pytestmark = pytest.mark.django_db(transaction=True)

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


def test_an_operator_sets_a_credential_that_live_runs_then_send_and_the_page_never_shows(
    page, sign_in, live_server, admin_user, alice_key, settings
):
    settings.MONID_CREDENTIALS_KEY = Fernet.generate_key().decode()
    settings.PDL_API_KEY = ""

    def run():
        return requests.post(
            f"{live_server.url}/v1/run", json=PDL_MATCH, timeout=10, headers={"Authorization": f"Bearer {alice_key}"}
        )

    assert run().status_code == 503
    sign_in("admin", "password")  # pytest-django's admin_user
    page.goto(f"/admin/providers/provider/{Provider.objects.get(slug='pdl').pk}/change/")
    assert "Not set: live runs are refused with 503" in page.inner_text(".field-credential")
    page.fill("#id_new_credential", PDL_KEY)
    page.click("input[name=_continue]")
    assert "Set in the dashboard on " in page.inner_text(".field-credential")
    assert page.input_value("#id_new_credential") == "" and PDL_KEY not in page.content()
    assert run().status_code == 200
    assert CatalogChange.objects.filter(subject="provider pdl", changes__has_key="credential").count() == 1
