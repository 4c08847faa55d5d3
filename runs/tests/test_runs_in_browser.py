"""An operator follows a run from the list to what the provider said, in a real headless Chromium."""

import json

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_finds_a_no_match_run_and_sees_the_providers_404(page, sign_in, client, alice_key, operator):
    body = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "nomatch@example.com"}}
    run_id = client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {alice_key}"
    ).json()["runId"]
    sign_in("olivia", "operator-pass-1")
    page.goto("/runs/")
    page.click(f"text={run_id}")
    said = page.inner_text("section.said.provider")
    assert "404" in said and "No records were found matching your request" in said
    assert run_id in page.inner_text("main") and "$0.003000" in page.inner_text("main")  # calculated
    assert "$0.000000" in page.inner_text(".costs tr.total")  # reported: a provider error is not charged
