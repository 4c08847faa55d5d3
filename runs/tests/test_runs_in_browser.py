"""An operator follows a run from the list to what the provider said, in a real headless Chromium."""

import json

import pytest
from selenium.webdriver.common.by import By

from conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_finds_a_no_match_run_and_sees_the_providers_404(browser, signed_in, client, alice_key,
                                                                      operator):
    body = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "nomatch@example.com"}}
    run_id = client.post("/v1/run", data=json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {alice_key}").json()["runId"]
    open_page = signed_in("olivia", "operator-pass-1")
    open_page("/runs/")
    wait_for(browser, "table")
    browser.find_element(By.LINK_TEXT, run_id).click()

    said = wait_for(browser, "section.said.provider").text
    page = browser.find_element(By.TAG_NAME, "main").text
    assert run_id in page
    assert "404" in said and "No records were found matching your request" in said
    assert "$0.003000" in page  # calculated
    costs = browser.find_element(By.CSS_SELECTOR, ".costs tr.total").text
    assert "$0.000000" in costs  # reported: a provider error is not charged
