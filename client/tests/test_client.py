"""The Python client against the real server: catalog, runs sync and async, lists, stops, the wallet and who the
key is."""

import itertools

import pytest
from conftest import catalog_examples
from runs.models import Run
from runs.services import runs_settle_all

from monid import BadRequest, User, Whoami, Workspace

from .conftest import PDL_MATCH, PDL_NO_MATCH, SLOW_TWEETS, TWEETS

pytestmark = pytest.mark.django_db(transaction=True)


def test_discover_offers_the_endpoint_that_fits_a_need_first(monid):
    matches = monid.discover("twitter posts", limit=3)
    assert (matches[0].provider, matches[0].endpoint) == ("apify", "/apidojo/tweet-scraper")
    assert len(matches) <= 3 and 0 < matches[0].score <= 1 and matches[0].price["currency"] == "USD"


def test_discover_leaves_out_the_matches_under_a_min_score(monid):
    every = monid.discover("twitter posts", limit=50)
    kept = monid.discover("twitter posts", limit=50, min_score=0.5)
    assert 0 < len(kept) < len(every) and kept == [match for match in every if match.score >= 0.5]


def test_discover_includes_an_endpoint_in_outage_last_only_when_asked(monid, tweets_in_outage):
    assert "/apidojo/tweet-scraper" not in [match.endpoint for match in monid.discover("twitter posts", limit=3)]
    last = monid.discover("twitter posts", limit=3, include_unavailable=True)[-1]
    assert (last.endpoint, last.raw["metrics"]["status"]) == ("/apidojo/tweet-scraper", "outage")


def test_inspect_shows_an_endpoints_input_schema_and_price(monid):
    info = monid.inspect("pdl", "/person/enrich")
    assert (info.provider, info.endpoint, info.method) == ("pdl", "/person/enrich", "GET")
    assert info.input_schema["type"] == "object" and info.price == {
        "type": "PER_CALL",
        "amount": 0.003,
        "currency": "USD",
    }


def test_a_sync_run_comes_back_finished_and_charged_without_polling(connect, alice_key, fake_time):
    run = connect(alice_key).run(*PDL_MATCH)
    assert run.ok and (run.status, run.provider_status) == ("COMPLETED", 200)
    assert run.output["full_name"] and run.result_count == 1
    assert run.cost_usd == 0.003 and run.billing.reported_micros == 3000 and fake_time.sleeps == []
    assert Run.objects.get(pk=run.id).reported_cost_micros == 3000


def test_a_provider_error_is_a_completed_run_that_is_not_ok(monid):
    run = monid.run(*PDL_NO_MATCH)
    assert (run.status, run.provider_status, run.ok) == ("COMPLETED", 404, False)
    assert run.provider_error["status"] == 404 and run.output is None
    assert run.failure == "the provider answered HTTP 404"


def test_an_async_run_is_polled_with_growing_waits_capped_at_10_seconds_until_it_ends(monid, fake_time, task_queue):
    fake_time.on_sleep = lambda count: count == 9 and task_queue.run()  # the workers only get to it late
    run = monid.run(*TWEETS)
    assert fake_time.sleeps == [1.0, 1.5, 2.25, 3.375, 5.0625, 7.59375, 10.0, 10.0, 10.0]
    assert run.ok and run.result_count == 3 and len(run.output) == 3


def test_wait_false_answers_with_the_accepted_run_at_once(monid, fake_time):
    run = monid.run(*TWEETS, wait=False)
    assert (run.status, run.terminal, run.output, run.provider) == ("RUNNING", False, None, "apify")
    assert fake_time.sleeps == [] and Run.objects.get(pk=run.id).status in ("READY", "RUNNING")


def test_wait_follows_a_run_started_without_waiting_to_its_end(monid):
    started = monid.run(*TWEETS, wait=False)
    run = monid.wait(started.id)
    assert run.id == started.id and run.ok


def test_on_poll_sees_the_run_each_time_it_is_polled(monid):
    seen = []
    run = monid.run(*TWEETS, on_poll=lambda polled: seen.append(polled.status))
    assert seen == ["RUNNING", "COMPLETED"] and run.ok


def test_list_runs_follows_the_cursors_across_pages_newest_first(monid):
    created = [monid.run(*PDL_MATCH).id for _ in range(5)]
    pages = []
    monid.session.hooks["response"].append(lambda response, **_: pages.append(response.url))
    listed = [run.id for run in monid.list_runs(page_size=2)]
    assert listed == created[::-1]
    assert len(pages) == 3 and "cursor=" not in pages[0] and all("cursor=" in url for url in pages[1:])


def test_list_runs_asks_for_a_page_only_when_the_iteration_reaches_it(monid):
    for _ in range(3):
        monid.run(*PDL_MATCH)
    pages = []
    monid.session.hooks["response"].append(lambda response, **_: pages.append(response.url))
    runs = monid.list_runs(page_size=2)
    assert pages == []
    assert len(list(itertools.islice(runs, 2))) == 2 and len(pages) == 1


def test_list_runs_stops_at_its_limit_and_applies_the_filters(monid):
    for _ in range(3):
        monid.run(*PDL_MATCH)
    monid.run(*PDL_NO_MATCH)
    monid.run(*TWEETS, wait=False)
    listed = list(monid.list_runs(provider="pdl", status="COMPLETED", limit=3))
    assert len(listed) == 3 and {(run.provider, run.status) for run in listed} == {("pdl", "COMPLETED")}
    assert listed[0].provider_status == 404  # the newest: list items carry the provider's status too


def test_stop_run_stops_a_running_async_run(monid, task_queue):
    started = monid.run(*SLOW_TWEETS, wait=False)
    task_queue.run()
    stopping = monid.stop_run(started.id)
    assert (stopping.id, stopping.status) == (started.id, "STOPPING")
    run = monid.wait(started.id)
    assert (run.status, run.ok, run.cost_usd) == ("STOPPED", False, 0.0)


def test_balance_shows_what_the_wallet_can_spend_in_dollars(connect, alice_key):
    client = connect(alice_key)
    client.run(*PDL_MATCH)
    before_settling = client.balance()  # what is held stands in for the charge until the settler takes it
    assert (before_settling.balance_usd, before_settling.held_usd) == (99.997, 0.003)
    runs_settle_all()
    balance = client.balance()
    assert (balance.balance_usd, balance.held_usd, balance.currency) == (99.997, 0.0, "USD")


def test_whoami_names_who_made_the_key_and_its_workspace(monid):
    assert monid.whoami() == Whoami(
        user=User(user_id="alice", username="alice", email=""),
        workspace=Workspace(workspace_id="acme", name="Acme", slug="acme"),
    )


def test_whoami_of_a_workspace_without_members_has_a_user_of_nones(connect, empty_wallet_key):
    assert connect(empty_wallet_key).whoami().user == User(user_id=None, username=None, email=None)


def test_workspaces_lists_the_keys_own_workspace(monid):
    assert monid.workspaces() == [Workspace(workspace_id="acme", name="Acme", slug="acme")]


def test_resources_are_none_on_this_server_whatever_the_filters(monid):
    assert monid.resources() == []
    assert monid.resources(provider="twilio", resource_type="phone_number", state="ACTIVE", limit=5) == []


def test_resources_sends_the_filters_by_the_apis_names(monid):
    with pytest.raises(BadRequest, match="resourceType"):  # the server's check: a resource type needs its provider
        monid.resources(resource_type="phone_number")


def test_a_test_key_runs_every_catalog_endpoint_on_its_example(monid):
    for provider, path, example in catalog_examples():
        run = monid.run(provider, path, example)
        assert (run.status, run.ok, run.result_count >= 1) == ("COMPLETED", True, True), (provider, path, run)
