"""Output retention: terminal runs' outputs are dropped once the runs are old enough, by the daily schedule or the
command; the runs, their costs, the wallet, its ledger and the daily cost rollup stay exactly as they were."""

import datetime
import io
import json

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum, TextField
from django.db.models.functions import Cast, Length
from django_q.models import Schedule

from billing.models import KeyDailyCost, LedgerEntry, Wallet
from runs import retention, tasks
from runs.models import Run
from runs.retention import run_outputs_prune

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 31, 12, 0, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=40, hours=1)  # 40 whole days before NOW, and then some
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
PDL_NO_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "nomatch@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 5}}
SLOW_TWEETS = {**TWEETS, "input": {"searchTerms": ["emulator:slow"]}}


def post(client, key, body):
    response = client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code in (200, 202), response.content
    return response.json()["runId"]


@pytest.fixture
def runs(client, alice_key, task_queue):
    """Alice's live runs: made 40 days ago, a PDL match, a PDL no-match (a provider error, no output), a finished
    Apify dataset and an Apify run still going; made today, a PDL match."""
    with time_machine.travel(OLD):
        made = {
            "old_match": post(client, alice_key, PDL_MATCH),
            "old_error": post(client, alice_key, PDL_NO_MATCH),
            "old_dataset": post(client, alice_key, TWEETS),
            "old_running": post(client, alice_key, SLOW_TWEETS),
        }
        task_queue.run(checks=3)
    with time_machine.travel(NOW):
        made["new_match"] = post(client, alice_key, PDL_MATCH)
    found = {name: Run.objects.get(pk=run_id) for name, run_id in made.items()}
    assert [found[name].status for name in made] == ["COMPLETED", "COMPLETED", "COMPLETED", "RUNNING", "COMPLETED"]
    assert found["old_match"].output and found["old_dataset"].output and found["old_error"].output is None
    return found


def prune(**kwargs):
    with time_machine.travel(NOW, tick=False):
        return run_outputs_prune(days=30, **kwargs)


def signed_in_after_pruning(client, user):
    prune()
    client.force_login(user)
    return client


def money():
    """Every figure of money there is: wallets, the ledger, the daily rollup and each run's costs."""
    return {
        "wallets": list(Wallet.objects.order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.order_by("pk").values()),
        "ledger sums": list(LedgerEntry.objects.values("kind").annotate(total=Sum("amount_micros")).order_by("kind")),
        "rollup": list(KeyDailyCost.objects.order_by("pk").values()),
        "rollup sums": KeyDailyCost.objects.aggregate(
            Sum("run_count"), Sum("calculated_cost_micros"), Sum("actual_cost_micros"), Sum("reported_cost_micros")
        ),
        "runs": list(
            Run.objects.order_by("pk").values(
                "pk",
                "price_micros",
                "held_micros",
                "calculated_cost_micros",
                "actual_cost_micros",
                "reported_cost_micros",
            )
        ),
    }


def output_size(*runs):
    return Run.objects.filter(pk__in=[run.pk for run in runs]).aggregate(size=Sum(Length(Cast("output", TextField()))))[
        "size"
    ]


def test_pruning_keeps_the_wallet_the_ledger_the_rollup_and_every_runs_costs_exactly(runs):
    before = money()
    assert before["ledger"] and before["rollup sums"]["reported_cost_micros__sum"] > 0

    pruned = prune()

    assert pruned.runs == 2
    assert money() == before


def test_old_terminal_runs_lose_their_output_only_and_say_when(runs):
    old = [runs["old_match"], runs["old_dataset"]]

    prune()

    for run in old:
        after = Run.objects.get(pk=run.pk)
        assert after.output is None and after.output_expired_at == NOW
        unchanged = [
            "input",
            "status",
            "provider_http_status",
            "provider_error",
            "result_count",
            "output_truncated",
            "created_at",
            "completed_at",
            "provider_run_id",
            "error_message",
        ]
        assert [getattr(after, field) for field in unchanged] == [getattr(run, field) for field in unchanged]
        assert after.events.count() == run.events.count()


def test_recent_runs_runs_still_going_and_runs_without_output_are_left_alone(runs):
    others = [runs[name].pk for name in ("new_match", "old_running", "old_error")]
    before = list(Run.objects.filter(pk__in=others).order_by("pk").values())

    prune()

    assert list(Run.objects.filter(pk__in=others).order_by("pk").values()) == before
    assert [run["output_expired_at"] for run in before] == [None, None, None]
    assert runs["new_match"].output is not None


def test_a_run_made_on_the_retention_days_first_day_keeps_its_output_and_one_a_second_earlier_loses_it(
    client, alice_key
):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 0, 0, 1, tzinfo=datetime.UTC)):
        kept = post(client, alice_key, PDL_MATCH)
    with time_machine.travel(datetime.datetime(2026, 2, 28, 23, 59, 59, tzinfo=datetime.UTC)):
        dropped = post(client, alice_key, PDL_MATCH)

    pruned = prune()

    assert (pruned.runs, pruned.made_before) == (1, datetime.date(2026, 3, 1))
    assert Run.objects.get(pk=kept).output is not None and Run.objects.get(pk=dropped).output is None


def test_pruning_again_frees_nothing_and_changes_nothing(runs):
    first = prune()
    after_first = list(Run.objects.order_by("pk").values())

    with time_machine.travel(NOW + datetime.timedelta(hours=1), tick=False):
        second = run_outputs_prune(days=30)

    assert first.runs == 2 and (second.runs, second.output_bytes) == (0, 0)
    assert list(Run.objects.order_by("pk").values()) == after_first


def test_a_dry_run_counts_what_it_would_free_and_changes_nothing(runs):
    size = output_size(runs["old_match"], runs["old_dataset"])
    before = list(Run.objects.order_by("pk").values())

    dry = prune(dry_run=True)

    assert (dry.runs, dry.output_bytes) == (2, size) and size > 1000
    assert list(Run.objects.order_by("pk").values()) == before


def test_it_works_in_batches(runs, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 1)

    pruned = prune()

    assert pruned.runs == 2
    assert not Run.objects.filter(pk__in=[runs["old_match"].pk, runs["old_dataset"].pk], output__isnull=False).exists()


def test_the_command_says_what_it_freed(runs):
    size = output_size(runs["old_match"], runs["old_dataset"])
    out = io.StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("prune_outputs", "--days", "30", stdout=out)

    assert out.getvalue() == f"Freed the outputs of 2 runs made before 2026-03-01 (UTC): {size:,} bytes of JSON.\n"
    assert Run.objects.filter(output_expired_at=NOW).count() == 2


def test_the_commands_dry_run_says_what_it_would_free(runs):
    out = io.StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("prune_outputs", "--days", "35", "--dry-run", stdout=out)

    assert out.getvalue().startswith("Would free the outputs of 2 runs made before 2026-02-24 (UTC): ")
    assert not Run.objects.filter(output_expired_at__isnull=False).exists()


def test_the_command_takes_the_retention_setting_by_default_and_zero_keeps_everything(runs, settings):
    settings.MONID_OUTPUT_RETENTION_DAYS = 0
    out = io.StringIO()

    with time_machine.travel(NOW, tick=False):
        call_command("prune_outputs", stdout=out)

    assert out.getvalue() == "Retention is off (0 days): every output is kept.\n"
    assert not Run.objects.filter(output_expired_at__isnull=False).exists()


def test_a_daily_schedule_runs_the_task_which_prunes_by_the_setting(runs, settings):
    schedule = Schedule.objects.get(func="runs.tasks.prune_outputs")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)

    settings.MONID_OUTPUT_RETENTION_DAYS = 50
    with time_machine.travel(NOW, tick=False):
        assert tasks.prune_outputs()["runs"] == 0
    settings.MONID_OUTPUT_RETENTION_DAYS = 30
    with time_machine.travel(NOW, tick=False):
        assert tasks.prune_outputs()["runs"] == 2


def test_the_run_page_says_the_output_expired_and_how_long_it_was_kept(client, alice, runs):
    page = signed_in_after_pruning(client, alice).get(f"/runs/{runs['old_dataset'].pk}/")

    assert page.status_code == 200
    body = page.content.decode()
    assert '<p class="empty output-expired">Output expired on 2026-03-31 (kept 40 days).' in body
    assert "output.json" not in body and "Download the full JSON" not in body


def test_the_download_of_an_expired_output_answers_410_with_the_same_sentence(client, alice, runs):
    response = signed_in_after_pruning(client, alice).get(f"/runs/{runs['old_match'].pk}/output.json")

    assert response.status_code == 410
    assert response.content.decode().strip() == "Output expired on 2026-03-31 (kept 40 days)."


def test_someone_elses_expired_run_is_still_not_found(client, bob, runs):
    response = signed_in_after_pruning(client, bob).get(f"/runs/{runs['old_match'].pk}/output.json")

    assert response.status_code == 404


def test_the_api_shows_when_the_output_expired(client, alice_key, runs):
    prune()

    def get(run):
        response = client.get(f"/v1/runs/{run.pk}", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
        assert response.status_code == 200
        return response.json()

    expired, recent = get(runs["old_match"]), get(runs["new_match"])
    assert (expired["output"], expired["outputExpiredAt"]) == (None, "2026-03-31T12:00:00.000Z")
    assert expired["billing"]["reportedCost"]["value"] == runs["old_match"].reported_cost_micros > 0
    assert recent["output"] is not None and recent["outputExpiredAt"] is None
