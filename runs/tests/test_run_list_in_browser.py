"""The runs list's live rows (static/runs-live.js) in a real headless Chromium, its clock in the test's hands."""

import pytest

from billing.models import ApiKey
from providers.models import Endpoint
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

POLL_MS = 3000


def running_run():
    api_key = ApiKey.objects.get(label="alice-live")
    return Run.objects.create(
        workspace=api_key.workspace,
        api_key=api_key,
        is_test=False,
        status="RUNNING",
        endpoint=Endpoint.objects.get(path="/apidojo/tweet-scraper"),
        input={},
        price_type="PER_CALL",
        price_micros=3000,
    )


def test_a_run_in_flight_updates_its_row_without_a_reload_and_then_polling_stops(page, sign_in, alice_key):
    run = running_run()
    polls = []
    page.on("request", lambda request: "/runs/live/" in request.url and polls.append(request.url))
    sign_in("alice", "alice-pass-1")
    page.clock.install()
    page.goto("/runs/")
    row = f'tr[data-run-id="{run.id}"]'

    with page.expect_response(lambda response: "/runs/live/" in response.url):
        page.clock.run_for(POLL_MS)
    Run.objects.filter(pk=run.pk).update(status="COMPLETED", provider_http_status=200, reported_cost_micros=3000)
    with page.expect_response(lambda response: "/runs/live/" in response.url):
        page.clock.run_for(POLL_MS)
    page.wait_for_selector(f"{row}:not([data-in-flight])")
    page.clock.run_for(20 * POLL_MS)

    cells = page.inner_text(row)
    assert "COMPLETED" in cells and "200" in cells and "$0.003000" in cells
    assert polls == [f"{page.url}live/?ids={run.id}"] * 2
