import datetime

import pytest
import time_machine

from billing.costs import micros_to_usd, run_costs
from billing.models import ApiKey, KeyDailyCost
from billing.queries import cost_summary_by
from billing.services import key_daily_costs_replace
from billing.tests.helpers import FEB_10, RUN_COUNTS, rollup
from providers.engine.usage import units_price_micros
from runs.models import Run
from runs.services import cost_rollup_rebuild
from runs.tests.api import person_enriched


def costs(**overrides):
    args = {
        "price_type": "PER_CALL",
        "price_micros": 3000,
        "flat_fee_micros": 0,
        "billed_units": 1,
        "provider_http_status": 200,
        "completed": True,
        "actual_micros": 1200,
        "is_test": False,
        **overrides,
    }
    calculated = units_price_micros(
        **{name: args.pop(name) for name in ("price_type", "price_micros", "flat_fee_micros")},
        units=args.pop("billed_units"),
    )
    return run_costs(calculated_micros=calculated, **args)


def test_a_per_call_run_answered_2xx_is_charged_its_price():
    assert (costs().calculated_micros, costs().actual_micros, costs().reported_micros) == (3000, 1200, 3000)


def test_a_per_result_run_is_charged_the_flat_fee_plus_each_result():
    c = costs(price_type="PER_RESULT", price_micros=500, flat_fee_micros=2000, billed_units=7)
    assert (c.calculated_micros, c.reported_micros) == (5500, 5500)


@pytest.mark.parametrize(
    "overrides",
    [
        {"provider_http_status": 404},
        {"provider_http_status": 500},
        {"provider_http_status": None, "completed": False},
        {"completed": False},
    ],
)
def test_provider_errors_and_failed_runs_are_not_charged(overrides):
    c = costs(**overrides)
    assert c.reported_micros == 0 and c.calculated_micros == 3000


def test_test_mode_costs_nothing():
    c = costs(is_test=True)
    assert (c.actual_micros, c.reported_micros) == (0, 0)


def test_dollars_appear_only_at_the_edge():
    assert micros_to_usd(3000) == 0.003 and micros_to_usd(1) == 0.000001


def summary(group="key", mode="live", **dates):
    return cost_summary_by(group=group, mode=mode, **dates)


@pytest.mark.django_db
def test_the_cost_summary_sums_each_keys_runs(client, alice_key, bob_key):
    for key, email in [
        (alice_key, "a@example.com"),
        (alice_key, "b@example.com"),
        (alice_key, "nomatch@example.com"),
        (bob_key, "c@example.com"),
    ]:
        person_enriched(client, key, email)

    rows, totals = summary()

    by_key = {row["key"]: row for row in rows}
    assert (
        by_key["alice-live"]["runs"],
        by_key["alice-live"]["calculated_micros"],
        by_key["alice-live"]["reported_micros"],
    ) == (3, 9000, 6000)
    assert (by_key["bob-live"]["runs"], by_key["bob-live"]["reported_micros"]) == (1, 3000)
    assert (totals["runs"], totals["reported_micros"]) == (4, 9000)


@pytest.mark.django_db
def test_settling_a_run_records_it_under_its_key_day_provider_endpoint_and_status(client, alice_key):
    with time_machine.travel(datetime.datetime(2025, 2, 10, 23, 59, 59, tzinfo=datetime.UTC), tick=False):
        person_enriched(client, alice_key)

    row = KeyDailyCost.objects.get()
    assert (row.api_key.label, row.day, row.provider, row.endpoint, row.status) == (
        "alice-live",
        FEB_10,
        "pdl",
        "/person/enrich",
        "COMPLETED",
    )
    assert (row.run_count, row.calculated_cost_micros, row.reported_cost_micros) == (1, 3000, 3000)


@pytest.mark.django_db
def test_runs_are_counted_by_the_status_they_ended_in(alice_key):
    for status, runs in [("COMPLETED", 5), ("FAILED", 4), ("BLOCKED", 3), ("STOPPED", 2), ("TIME_OUT", 1)]:
        rollup("alice-live", status=status, runs=runs)

    [row], totals = summary()

    assert [row[name] for name in ("completed", "failed", "blocked", "stopped", "time_out", "runs")] == [
        5,
        4,
        3,
        2,
        1,
        15,
    ]
    assert totals["runs"] == 15 and totals["blocked"] == 3


@pytest.mark.django_db
def test_the_margin_is_reported_less_actual_and_may_be_negative(alice_key):
    rollup("alice-live", status="COMPLETED", calculated=3000, actual=1200, reported=3000)
    rollup("alice-live", status="FAILED", calculated=3000, actual=2500, reported=0)

    [row], totals = summary()

    assert (row["calculated_micros"], row["actual_micros"], row["reported_micros"]) == (6000, 3700, 3000)
    assert row["margin_micros"] == -700 and totals["margin_micros"] == -700


@pytest.mark.django_db
@pytest.mark.parametrize(
    "group, rollups, columns, expected",
    [
        (
            "workspace",
            [
                ("alice-live", "pdl", "/person/enrich", 1000),
                ("alice-live-2", "pdl", "/person/enrich", 20_000),
                ("bob-live", "pdl", "/person/enrich", 300_000),
            ],
            ("workspace",),
            [("globex", 1, 300_000), ("acme", 2, 21_000)],
        ),
        (
            "provider",
            [
                ("alice-live", "pdl", "/person/enrich", 1000),
                ("bob-live", "pdl", "/company/enrich", 20_000),
                ("bob-live", "apify", "/apidojo/tweet-scraper", 300_000),
            ],
            ("provider_slug",),
            [("apify", 1, 300_000), ("pdl", 2, 21_000)],
        ),
        (
            "endpoint",
            [
                ("alice-live", "pdl", "/person/enrich", 1000),
                ("bob-live", "pdl", "/person/enrich", 20_000),
                ("bob-live", "other", "/person/enrich", 300_000),
            ],
            ("provider_slug", "path"),
            [("other", "/person/enrich", 1, 300_000), ("pdl", "/person/enrich", 2, 21_000)],
        ),
    ],
    ids=["workspace", "provider", "endpoint"],
)
def test_a_summary_by_workspace_provider_or_endpoint_sums_its_keys_or_endpoints(
    alice_key, alice, bob_key, group, rollups, columns, expected
):
    """A workspace sums its keys, a provider its endpoints across keys, and an endpoint keeps each provider's
    endpoints of the same path apart."""
    from billing.api_keys import api_key_create

    # A second key of acme's, which only the workspace case charges: acme's row sums both keys.
    api_key_create(workspace=alice.workspaces.get(), label="alice-live-2", mode="live")
    for label, provider, endpoint, reported in rollups:
        rollup(label, provider=provider, endpoint=endpoint, reported=reported)

    rows, _ = summary(group=group)

    assert [tuple(row[name] for name in (*columns, "runs", "reported_micros")) for row in rows] == expected


@pytest.mark.django_db
def test_live_and_test_keys_are_never_summed_together(alice_key, alice_test_key):
    rollup("alice-live", calculated=3000, reported=3000)
    rollup("alice-test", runs=7, calculated=21_000)

    live, live_totals = summary(mode="live")
    test, test_totals = summary(mode="test")

    assert [row["key"] for row in live] == ["alice-live"] and live_totals["runs"] == 1
    assert [row["key"] for row in test] == ["alice-test"] and test_totals["runs"] == 7
    assert test_totals["calculated_micros"] == 21_000


@pytest.mark.django_db
def test_both_ends_of_the_date_range_are_included(alice_key):
    for day, reported in [
        (datetime.date(2025, 1, 31), 1),
        (datetime.date(2025, 2, 1), 20),
        (datetime.date(2025, 2, 28), 300),
        (datetime.date(2025, 3, 1), 4000),
    ]:
        rollup("alice-live", day=day, reported=reported)

    _, february = summary(start=datetime.date(2025, 2, 1), end=datetime.date(2025, 2, 28))
    _, since = summary(start=datetime.date(2025, 2, 28))
    _, until = summary(end=datetime.date(2025, 2, 1))

    assert (february["runs"], february["reported_micros"]) == (2, 320)
    assert (since["runs"], since["reported_micros"]) == (2, 4300)
    assert (until["runs"], until["reported_micros"]) == (2, 21)


@pytest.mark.django_db
def test_a_range_without_runs_has_no_rows_and_zero_totals(alice_key):
    rollup("alice-live", reported=3000)

    rows, totals = summary(start=datetime.date(2030, 1, 1))

    assert rows == []
    assert totals == dict.fromkeys(
        [*RUN_COUNTS, "calculated_micros", "actual_micros", "reported_micros", "margin_micros"], 0
    )


@pytest.mark.django_db
def test_rebuilding_the_rollup_from_runs_gives_what_settling_them_recorded(
    client, settings, alice_key, alice_test_key, bob_key
):
    for moment, key, email in [
        ("2025-02-10 23:59:59Z", alice_key, "a@example.com"),
        ("2025-02-11 00:00:00Z", alice_key, "a@example.com"),
        ("2025-02-11 12:00:00Z", alice_key, "nomatch@example.com"),
        ("2025-02-11 12:00:00Z", alice_test_key, "a@example.com"),
        ("2025-02-11 12:00:00Z", bob_key, "b@example.com"),
    ]:
        with time_machine.travel(moment, tick=False):
            person_enriched(client, key, email)
    settings.PDL_API_BASE_URL = "http://127.0.0.1:9"  # refused: the run ends FAILED
    person_enriched(client, alice_key)
    fields = (
        "api_key__label",
        "day",
        "provider",
        "endpoint",
        "status",
        "run_count",
        "calculated_cost_micros",
        "actual_cost_micros",
        "reported_cost_micros",
    )
    recorded = set(KeyDailyCost.objects.values_list(*fields))

    written = cost_rollup_rebuild()

    assert written == len(recorded) == 5
    assert set(KeyDailyCost.objects.values_list(*fields)) == recorded


@pytest.mark.django_db
def test_replacing_the_rollup_leaves_exactly_the_rows_given(alice_key, bob_key):
    rollup("alice-live", runs=9)
    key = ApiKey.objects.get(label="bob-live")
    groups = [
        {
            "api_key_id": key.pk,
            "day": FEB_10 + datetime.timedelta(days=day),
            "provider": "pdl",
            "endpoint": "/person/enrich",
            "status": "COMPLETED",
            "run_count": 1,
            "calculated_cost_micros": 3000,
            "actual_cost_micros": 1200,
            "reported_cost_micros": 3000,
        }
        for day in range(3)
    ]

    written = key_daily_costs_replace(groups=iter(groups))

    assert written == 3
    assert list(KeyDailyCost.objects.order_by("day").values_list("api_key__label", "day", "run_count")) == [
        ("bob-live", FEB_10 + datetime.timedelta(days=day), 1) for day in range(3)
    ]


def test_the_rollup_knows_every_terminal_status_of_a_run():
    assert set(KeyDailyCost.STATUSES) == set(Run.TERMINAL)
