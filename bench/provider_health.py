"""How long sampling every endpoint's health takes when its window holds --runs ended runs.

Makes a fresh database of DATABASE_URL's kind (SQLite when unset; or --database-url) and bulk-loads the runs with
bench/cost_summary.py's loader (live and test keys, four endpoints, 90 % COMPLETED with a few provider 429s and
500s, FAILED, TIME_OUT, STOPPED and BLOCKED runs, durations from 0.2 to 120 s, over January to March 2025). The
health window is then widened to hold all of them, and runs.health.endpoint_health_compute (the counts, and
the median and p95 ranked by the database) is timed, the median of --repeat tries; the table is printed.

    .venv/bin/python -m bench.provider_health --runs 100000
    .venv/bin/python -m bench.provider_health --runs 100000 --database-url postgres://postgres@127.0.0.1:5432/postgres
"""

import datetime
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.cost_summary import DAYS, FIRST_DAY, analyze, catalog, load, loaded_runs_arguments, median_ms  # noqa: E402
from bench.harness import bench_database  # noqa: E402


def main():
    args = loaded_runs_arguments(__doc__.splitlines()[0], "sampling")
    with bench_database("monid-health-") as _:
        from django.conf import settings
        from django.db import connection

        from providers.health import health_table
        from runs.health import endpoint_health_compute

        keys, endpoints = catalog()
        load_seconds = load(args.runs, keys, endpoints, random.Random(args.seed))
        analyze()
        settings.MONID_HEALTH_WINDOW_MINUTES = DAYS * 24 * 60  # every run loaded ended in the window
        now = FIRST_DAY + datetime.timedelta(days=DAYS)
        ms, samples = median_ms(lambda: endpoint_health_compute(now=now), args.repeat)
        print(
            f"{'PostgreSQL' if connection.vendor == 'postgresql' else 'SQLite'}: {args.runs:,} runs in the window "
            f"(loaded in {load_seconds:.1f} s), {len(endpoints)} endpoints; {os.cpu_count()} CPUs"
        )
        print(f"  sampling every endpoint's health: {ms:.1f} ms, median of {args.repeat}")
        print(health_table(samples))


if __name__ == "__main__":
    main()
