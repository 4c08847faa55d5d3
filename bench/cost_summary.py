"""How fast the per-key cost summary answers over 1,000,000 runs, next to a plain indexed COUNT(*) of them.

Makes a fresh database of DATABASE_URL's kind (SQLite when unset; or --database-url), migrates it, creates a
few workspaces, live and test keys, and endpoints, bulk-inserts --runs ended runs spread evenly over January
to March 2025 with realistic statuses and costs, and builds the daily cost rollup from them with
runs.services.cost_rollup_rebuild (the code migration runs.0009 runs). Then it times, each the median of
--repeat tries:

- the summary the cost page shows for February, live keys, by key (billing.queries.cost_summary_by: its
  rows and its totals row), which reads the rollup;
- a plain COUNT(*) of February's runs over the primary key's index (run ids are ULIDs: they begin with the
  time the run was created), the cheapest question one can ask of those runs;
- the same summary summed straight from the runs, as it would be without the rollup (fewer tries: slow).

It prints the first two and their ratio, the third, how long loading took, and how many rows there are; and
checks that the rollup's totals equal the runs'.

    make bench-costs
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench-costs
    .venv/bin/python -m bench.cost_summary --runs 100000 --database-url sqlite:///var/x.sqlite3
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_database  # noqa: E402

FIRST_DAY = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
DAYS = 90  # January to March 2025
MONTH = (datetime.date(2025, 2, 1), datetime.date(2025, 2, 28))
WORKSPACES, LIVE_KEYS, TEST_KEYS = 5, 2, 1
# (provider, path, price type, price, flat fee, weight): the catalog's two, and two more.
ENDPOINTS = [
    ("pdl", "/person/enrich", "PER_CALL", 3000, 0, 50),
    ("apify", "/apidojo/tweet-scraper", "PER_CALL", 3000, 0, 25),
    ("pdl", "/company/enrich", "PER_CALL", 10_000, 0, 15),
    ("apify", "/apify/google-search-scraper", "PER_RESULT", 500, 2000, 10),
]
STATUSES = {"COMPLETED": 90, "FAILED": 4, "TIME_OUT": 2, "STOPPED": 2, "BLOCKED": 2}
HTTP_STATUSES = {200: 94, 404: 4, 429: 1, 500: 1}
CHUNK = 20_000  # runs made in memory, then inserted, at a time
BATCH = 2_000  # rows per INSERT (SQLite: as many as its 999 parameters allow)


def catalog():
    """The bench's keys (live and test) and endpoints."""
    from billing.accounts import workspace_get_or_create
    from billing.api_keys import api_key_create
    from providers.models import Endpoint, Provider

    keys = []
    for w in range(1, WORKSPACES + 1):
        workspace = workspace_get_or_create(slug=f"customer-{w}")
        keys += [api_key_create(workspace=workspace, label=f"live-{k}", mode="live")[0] for k in range(LIVE_KEYS)]
        keys += [api_key_create(workspace=workspace, label=f"test-{k}", mode="test")[0] for k in range(TEST_KEYS)]
    endpoints = []
    for provider, path, price_type, price, fee, weight in ENDPOINTS:
        endpoint, _ = Endpoint.objects.get_or_create(
            provider=Provider.objects.get(slug=provider),
            path=path,
            defaults={"price_type": price_type, "price_micros": price, "flat_fee_micros": fee},
        )
        endpoints.append((endpoint, weight))
    return keys, endpoints


def make_runs(count, keys, endpoints, rng):
    """`count` ended runs, oldest first, evenly over DAYS, in chunks of CHUNK."""
    from ulid import ULID

    from billing.costs import run_costs
    from providers.engine.usage import units_price_micros
    from runs.models import Run

    endpoint_list, endpoint_weights = zip(*endpoints)
    statuses, status_weights = list(STATUSES), list(STATUSES.values())
    http_statuses, http_weights = list(HTTP_STATUSES), list(HTTP_STATUSES.values())
    step = datetime.timedelta(days=DAYS) / count
    chunk = []
    for i in range(count):
        key, endpoint = rng.choice(keys), rng.choices(endpoint_list, endpoint_weights)[0]
        status = rng.choices(statuses, status_weights)[0]
        created = FIRST_DAY + i * step
        http, results, actual = None, None, 0
        if status == "COMPLETED":
            http = rng.choices(http_statuses, http_weights)[0]
            results = rng.randint(0, 100) if http == 200 else None
        if status in ("COMPLETED", "TIME_OUT", "STOPPED") and http != 404:
            # What the provider charged us: about half our price, now and then more (the margin goes negative).
            price = endpoint.price_micros * ((results or 0) if endpoint.price_type == "PER_RESULT" else 1)
            actual = int((endpoint.flat_fee_micros + price) * rng.uniform(0.3, 1.1))
        calculated = units_price_micros(
            price_type=endpoint.price_type,
            price_micros=endpoint.price_micros,
            flat_fee_micros=endpoint.flat_fee_micros,
            units=results,
        )
        costs = run_costs(
            calculated_micros=calculated,
            provider_http_status=http,
            completed=status == "COMPLETED",
            actual_micros=actual,
            is_test=key.is_test,
        )
        blocked = status == "BLOCKED"  # refused before reaching the provider: no costs at all
        chunk.append(
            Run(
                id=str(ULID.from_datetime(created)),
                workspace_id=key.workspace_id,
                api_key_id=key.pk,
                endpoint_id=endpoint.pk,
                is_test=key.is_test,
                status=status,
                input={"email": f"person-{i}@example.com"},
                provider_http_status=http,
                result_count=results,
                price_type=endpoint.price_type,
                price_micros=endpoint.price_micros,
                flat_fee_micros=endpoint.flat_fee_micros,
                calculated_cost_micros=0 if blocked else costs.calculated_micros,
                actual_cost_micros=0 if blocked else costs.actual_micros,
                reported_cost_micros=0 if blocked else costs.reported_micros,
                created_at=created,
                started_at=None if blocked else created,
                completed_at=created + datetime.timedelta(seconds=0 if blocked else rng.uniform(0.2, 120)),
            )
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load(count, keys, endpoints, rng) -> float:
    """Inserts the runs; returns the seconds it took."""
    from django.db import transaction

    from runs.models import Run

    began = time.monotonic()
    # bulk_create would stamp every run with created_at = now: these were created over three months.
    with mock.patch.object(Run._meta.get_field("created_at"), "auto_now_add", False):
        for n, chunk in enumerate(make_runs(count, keys, endpoints, rng), 1):
            with transaction.atomic():
                Run.objects.bulk_create(chunk, batch_size=BATCH)
            if n % 10 == 0:
                print(f"    {n * CHUNK:,} runs in {time.monotonic() - began:.0f} s", flush=True)
    return time.monotonic() - began


def analyze():
    """Fresh planner statistics (and, on PostgreSQL, a visibility map for index-only scans), as autovacuum
    would leave them after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def median_ms(fn, repeat):
    """Median wall time of `fn()` in milliseconds, and its last result; one untimed try first warms caches."""
    result, times = fn(), []
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), result


def summary_from_runs(start, end):
    """The cost page's summary (live keys, by key) summed from the runs themselves, with no rollup."""
    from django.db.models import Count, F, Q, Sum

    from billing.models import KeyDailyCost
    from runs.models import Run

    runs = Run.objects.filter(
        api_key__mode="live",
        status__in=Run.TERMINAL,
        completed_at__gte=datetime.datetime.combine(start, datetime.time(), datetime.UTC),
        completed_at__lt=datetime.datetime.combine(end, datetime.time(), datetime.UTC) + datetime.timedelta(days=1),
    )
    sums = {
        **{status.lower(): Count("pk", filter=Q(status=status)) for status in KeyDailyCost.STATUSES},
        "runs": Count("pk"),
        "calculated_micros": Sum("calculated_cost_micros"),
        "actual_micros": Sum("actual_cost_micros"),
        "reported_micros": Sum("reported_cost_micros"),
        "margin_micros": Sum(F("reported_cost_micros") - F("actual_cost_micros")),
    }
    rows = list(runs.order_by().values("api_key__workspace__slug", "api_key__label").annotate(**sums))
    return rows, runs.aggregate(**sums)


def loaded_runs_arguments(description: str, timed: str) -> argparse.Namespace:
    """The command line of a bench that loads runs in bulk (this one, bench/pages.py); --database-url, when
    given, becomes DATABASE_URL for bench_database."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15, help=f"timed tries of each {timed}; the median counts")
    parser.add_argument("--database-url", help="a database of this kind is made for the bench (default: DATABASE_URL)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    return args


def loaded_runs_heading(runs: int, keys, endpoints) -> str:
    """The first line of a bench that loads runs in bulk: the database, and what it is about to load."""
    from django.db import connection

    live = sum(1 for key in keys if not key.is_test)
    return (
        f"{'PostgreSQL' if connection.vendor == 'postgresql' else 'SQLite'}: {runs:,} runs from "
        f"{FIRST_DAY.date()} over {DAYS} days; {len(keys)} keys ({live} live) in {WORKSPACES} workspaces, "
        f"{len(endpoints)} endpoints; {os.cpu_count()} CPUs"
    )


def main():
    args = loaded_runs_arguments(__doc__.splitlines()[0], "fast query")
    with bench_database("monid-costs-") as (database, _):
        from billing.models import KeyDailyCost
        from billing.queries import cost_summary_by
        from runs.models import Run
        from runs.queries import run_id_floor
        from runs.services import cost_rollup_rebuild

        keys, endpoints = catalog()
        print(loaded_runs_heading(args.runs, keys, endpoints), flush=True)
        load_seconds = load(args.runs, keys, endpoints, random.Random(args.seed))
        analyze_began = time.monotonic()
        analyze()
        analyze_seconds = time.monotonic() - analyze_began
        rebuild_began = time.monotonic()
        rollup_rows = cost_rollup_rebuild()
        rebuild_seconds = time.monotonic() - rebuild_began
        analyze()
        print(
            f"  loaded in {load_seconds:.1f} s ({args.runs / load_seconds:,.0f} runs/s), analyzed in "
            f"{analyze_seconds:.1f} s; rollup rebuilt from the runs in {rebuild_seconds:.1f} s: "
            f"{rollup_rows:,} rows for {Run.objects.count():,} runs"
        )

        start, end = MONTH
        low, high = run_id_floor(start), run_id_floor(end + datetime.timedelta(days=1))
        month_rollup = KeyDailyCost.objects.filter(day__range=MONTH, api_key__mode="live").count()
        summary_ms, (rows, totals) = median_ms(
            lambda: cost_summary_by(group="key", mode="live", start=start, end=end), args.repeat
        )
        count_ms, month_runs = median_ms(lambda: Run.objects.filter(pk__gte=low, pk__lt=high).count(), args.repeat)
        direct_ms, (direct_rows, direct_totals) = median_ms(lambda: summary_from_runs(start, end), 3)
        assert direct_totals == totals, (direct_totals, totals)
        assert len(direct_rows) == len(rows)
        print(
            f"  {start} to {end}, live keys, by key: {len(rows)} rows from {month_rollup:,} rollup rows, "
            f"which sum {totals['runs']:,} runs (equal to the runs' own sums)"
        )
        print(f"    summary from the rollup (rows + totals):   {summary_ms:9.2f} ms   median of {args.repeat}")
        print(
            f"    COUNT(*) of the month's runs by run id:     {count_ms:9.2f} ms   median of {args.repeat}, "
            f"{month_runs:,} runs, live and test"
        )
        print(f"    ratio summary / COUNT(*):                   {summary_ms / count_ms:9.3f}")
        print(f"    the same summary straight from the runs:   {direct_ms:9.2f} ms   median of 3, no rollup")


if __name__ == "__main__":
    main()
