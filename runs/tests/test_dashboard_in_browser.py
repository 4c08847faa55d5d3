"""The two journeys the dashboard exists for, in a real headless Chromium: a customer signs up, makes a key,
copies it, calls the API with it, watches the run appear and finish, and revokes the key; an operator filters
the runs, opens a failed provider call to read its error body, and reads the cost table."""

import json

import pytest
import requests
from playwright.sync_api import expect

from billing.models import ApiKey
from runs.models import Run
from runs.services import runs_settle_all

pytestmark = pytest.mark.django_db(transaction=True)

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["browsers"]}}


def test_a_customer_signs_up_calls_the_api_with_a_new_key_and_watches_the_run_finish(
    page, new_key_copied, live_server, catalog, task_queue
):
    page.goto("/signup/")
    page.fill("#id_username", "carol")
    page.fill("#id_email", "carol@example.com")
    page.fill("#id_password", "a-long-passphrase-7")
    page.fill("#id_workspace_name", "Carol's Crawlers")
    page.click("main form button[type=submit]")
    page.wait_for_selector("form.who")

    key = new_key_copied("crawler")
    assert key.startswith("monid_test_")

    def call():
        return requests.post(
            f"{live_server.url}/v1/run", json=TWEETS, timeout=10, headers={"Authorization": f"Bearer {key}"}
        )

    run_id = call().json()["runId"]
    page.goto("/runs/")
    row = page.locator("tr", has=page.locator(f"a:text-is('{run_id}')"))
    expect(row).to_contain_text("RUNNING")
    task_queue.run()  # a worker takes the run to its end at the (emulated) provider
    assert Run.objects.get(pk=run_id).status == "COMPLETED"
    expect(row).to_contain_text("COMPLETED", timeout=15_000)  # the page updated itself, with no reload

    page.goto("/keys/")
    page.click("text=Revoke…")
    page.click("form.danger button[type=submit]")
    expect(page.locator("ul.messages")).to_contain_text("revoked")
    assert ApiKey.objects.get(label="crawler").revoked_at is not None
    assert call().status_code == 401


def test_an_operator_filters_the_runs_opens_a_provider_failure_and_reads_the_costs(
    page, sign_in, client, alice_key, bob_key, operator
):
    def post(key, email):
        body = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}}
        return client.post(
            "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        ).json()["runId"]

    post(alice_key, "sean@example.com")
    failed = post(alice_key, "error@example.com")  # PDL answers 500
    post(bob_key, "sean@example.com")
    sign_in("olivia", "operator-pass-1")

    page.goto("/runs/")
    page.select_option("select[name=http]", "5xx")
    page.select_option("select[name=workspace]", "acme")
    page.click("form.filters button[type=submit]")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    page.click(f"text={failed}")
    said = page.locator("section.said.provider")
    expect(said).to_contain_text("500")
    assert "error" in said.inner_text().lower() and "Monid error" not in page.inner_text("main")

    runs_settle_all()  # as the background loop would have by now: the costs page reads what the settler rolled up
    page.goto("/costs/")
    table = page.locator("table").first
    expect(table).to_contain_text("alice-live")
    expect(table).to_contain_text("bob-live")
    assert "$0.003000" in table.inner_text()  # alice's one charged run; her PDL 500 is not charged


UNLABELLED_FIELDS = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter(f => f.type !== "hidden" && !f.hidden && !f.labels.length && !f.getAttribute("aria-label"))
    .map(f => f.name || f.id)"""
# A row with more or fewer cells than its table's heading puts every later value under the wrong heading.
MISALIGNED_ROWS = """() => [...document.querySelectorAll("table")].filter(t => t.tHead).flatMap(t => {
    const width = row => [...row.cells].reduce((sum, cell) => sum + cell.colSpan, 0);
    const heading = width(t.tHead.rows[t.tHead.rows.length - 1]);
    return [...t.tBodies].flatMap(b => [...b.rows]).filter(r => width(r) !== heading).map(r => r.innerText);
})"""


@pytest.mark.parametrize(
    "who, password, paths",
    [
        ("alice", "alice-pass-1", ["/runs/", "/keys/", "/wallet/", "/controls/", "/usage/", "/workspace/"]),
        (
            "olivia",
            "operator-pass-1",
            ["/runs/", "/costs/", "/workspaces/", "/workspaces/acme/", "/ops/queue/", "/ops/providers/"],
        ),
    ],
)
def test_pages_fit_a_phone_label_every_field_and_align_every_table(
    page, sign_in, alice_key, operator, who, password, paths
):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(who, password)
    for path in paths:
        page.goto(path)
        assert page.locator("h1").count() == 1, path
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{path} is wider"
        assert page.evaluate(UNLABELLED_FIELDS) == [], path
        assert page.evaluate(MISALIGNED_ROWS) == [], path
