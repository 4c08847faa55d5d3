"""A customer manages keys in a real headless Chromium."""

import json

import pytest
import requests
from selenium.webdriver.common.by import By

from billing.keys import hash_key
from billing.models import ApiKey
from conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_customer_creates_a_key_sees_it_once_and_revokes_it(browser, signed_in, live_server, alice, catalog):
    open_page = signed_in("alice", "alice-pass-1")
    open_page("/keys/")
    browser.find_element(By.ID, "id_label").send_keys("research agent")
    browser.find_element(By.CSS_SELECTOR, "input[name=mode][value=test]").click()
    browser.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()

    shown = wait_for(browser, "#new-key").get_attribute("value")
    assert shown.startswith("monid_test_")
    assert ApiKey.objects.get(label="research agent").key_hash == hash_key(shown)
    body = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}

    def call():
        return requests.post(f"{live_server.url}/v1/run", data=json.dumps(body), timeout=10,
                             headers={"Authorization": f"Bearer {shown}", "Content-Type": "application/json"})

    assert call().status_code == 200

    browser.refresh()
    wait_for(browser, "form.card")
    assert shown not in browser.page_source

    browser.find_element(By.LINK_TEXT, "Revoke…").click()
    wait_for(browser, "form.danger").find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "revoked" in wait_for(browser, "ul.messages").text
    assert ApiKey.objects.get(label="research agent").revoked_at is not None
    assert call().status_code == 401
