"""Throughput and latency of async runs, and whether the dispatcher keeps up with thousands in flight.

Starts a deployment of real processes (gunicorn, qcluster, the dispatcher, the emulators) on a fresh database
of DATABASE_URL's kind (SQLite when unset; Redis as the broker when REDIS_URL is set), then:

1. saturated: posts --runs async runs, each an emulated actor run of --run-ms, from --concurrency clients as
   fast as they go, and prints completed runs per second (first run created to last run completed) and the
   CPU each process spent per run;
2. steady: posts --steady-runs at --rate a second, and prints dispatch latency (run created to the provider
   asked to start it; both clocks are this machine's) and end-to-end overhead (created to completed, minus the
   emulated run time) at p50/p99;
3. runs one actor whose dataset is 50 MB, and prints what was kept and the peak memory of the worker that read it;
4. starts --in-flight runs that last an hour, then times one reconciler sweep and one dispatcher poll over
   them, and how long the workers take to check every one of them once when all come due together.

    make bench-async                                                  # SQLite + ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-async
"""

import datetime
import json
import os
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import (  # noqa: E402
    bench_deployment,
    cpu_seconds,
    emulator_runs,
    rss_peak_mb,
    runs_bench_arguments,
    setup_name,
    wait_until,
)


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def post_runs(monid_url, key, count, concurrency, terms, rate=None):
    """Posts `count` runs from `concurrency` clients, as fast as they go or, with `rate`, that many a second."""
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    began = time.monotonic()

    def post(i):
        if rate:
            time.sleep(max(0.0, began + i / rate - time.monotonic()))
        body = {
            "provider": "apify",
            "endpoint": "/apidojo/tweet-scraper",
            "input": {"searchTerms": terms(i), "maxItems": 3},
        }
        response = session.post(
            f"{monid_url}/v1/run", json=body, timeout=60, headers={"Authorization": f"Bearer {key}"}
        )
        response.raise_for_status()
        return response.json()["runId"]

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(post, range(count)))


def provider_starts(emulators_url, tag):
    """First search term -> when the emulator started that actor run."""
    return {
        run["input"]["searchTerms"][0]: datetime.datetime.fromisoformat(run["startedAt"])
        for run in emulator_runs(emulators_url)
        if str(run["input"]["searchTerms"][0]).startswith(tag)
    }


def run_batch(monid_url, emulators_url, key, *, count, run_ms, concurrency, rate=None):
    """Posts the runs, waits for all to end; returns their rows and when the provider started each."""
    from runs.models import Run

    tag = uuid.uuid4().hex[:8]
    run_ids = post_runs(
        monid_url, key, count, concurrency, lambda i: [f"{tag}-{i}", f"emulator:duration-{run_ms}"], rate
    )
    ours = Run.objects.filter(pk__in=run_ids)
    wait_until(
        lambda: not ours.exclude(status__in=Run.TERMINAL).exists(), seconds=900, interval=0.2, what="every run to end"
    )
    starts = provider_starts(emulators_url, tag)
    rows = list(ours.values_list("input", "created_at", "completed_at", "status", "steps"))
    return rows, {run_input["searchTerms"][0]: starts[run_input["searchTerms"][0]] for run_input, *_ in rows}


def throughput(deployment, monid_url, emulators_url, key, args):
    before = cpu_seconds(deployment)
    rows, _ = run_batch(
        monid_url, emulators_url, key, count=args.runs, run_ms=args.run_ms, concurrency=args.concurrency
    )
    used = cpu_seconds(deployment)
    first, last = min(row[1] for row in rows), max(row[2] for row in rows)
    seconds = (last - first).total_seconds()
    print(
        f"  saturated: {args.runs} runs of {args.run_ms} ms from {args.concurrency} clients, ended "
        f"{sorted({row[3] for row in rows})}"
    )
    print(
        f"    completed runs/s:        {args.runs / seconds:8.1f}   ({seconds:.1f} s from first created to last "
        f"completed)"
    )
    print(f"    worker steps per run:    {sum(row[4] for row in rows) / len(rows):8.1f}   (start, checks, collect)")
    print_cpu("run", before, used, count=args.runs, seconds=seconds)


def print_cpu(what, before, used, *, count, seconds):
    """CPU ms each process spent per `what` between two cpu_seconds readings, and what the CPUs had."""
    spent = {role: (used[role] - before.get(role, 0.0)) * 1000 / count for role in used}
    print(
        f"    CPU ms per {what}:".ljust(29)
        + ", ".join(f"{role} {ms:.2f}" for role, ms in sorted(spent.items(), key=lambda kv: -kv[1]) if ms >= 0.005)
        + f"; total {sum(spent.values()):.2f} of the {os.cpu_count() * seconds * 1000 / count:.2f} "
        f"that {os.cpu_count()} CPUs had"
    )


def latency(monid_url, emulators_url, key, args):
    rows, starts = run_batch(
        monid_url,
        emulators_url,
        key,
        count=args.steady_runs,
        run_ms=args.run_ms,
        concurrency=args.concurrency,
        rate=args.rate,
    )
    dispatch = [
        (starts[run_input["searchTerms"][0]] - created).total_seconds() * 1000 for run_input, created, *_ in rows
    ]
    overhead = [(completed - created).total_seconds() * 1000 - args.run_ms for _, created, completed, *_ in rows]
    print(
        f"  steady: {args.steady_runs} runs of {args.run_ms} ms at {args.rate:g} runs/s, ended "
        f"{sorted({row[3] for row in rows})}"
    )
    print(
        f"    dispatch latency ms:     p50 {percentile(dispatch, 0.5):7.1f}   p99 {percentile(dispatch, 0.99):7.1f}"
        "   (run created -> provider asked to start it)"
    )
    print(
        f"    end-to-end overhead ms:  p50 {percentile(overhead, 0.5):7.1f}   p99 {percentile(overhead, 0.99):7.1f}"
        "   (created -> completed, minus the run's own time)"
    )


def in_flight(deployment, monid_url, key, args):
    from django.db.models import Sum
    from django.utils import timezone

    from runs.models import Run
    from runs.services import CHECK_AGE_FRACTION, CHECK_MAX_SECONDS, run_check_delay, runs_dispatch, runs_reconcile

    tag = uuid.uuid4().hex[:8]
    run_ids = post_runs(
        monid_url, key, args.in_flight, args.concurrency, lambda i: [f"{tag}-{i}", "emulator:duration-3600000"]
    )
    ours = Run.objects.filter(pk__in=run_ids)
    wait_until(
        lambda: not ours.filter(provider_run_id="").exists(), seconds=600, interval=0.5, what="every run to start"
    )
    began = time.perf_counter()
    swept = runs_reconcile()
    sweep_ms = (time.perf_counter() - began) * 1000
    runs_dispatch()  # the first also connects to the broker
    began = time.perf_counter()
    with_nothing_due = runs_dispatch()
    poll_ms = (time.perf_counter() - began) * 1000
    print(
        f"  {args.in_flight} runs in flight: a reconciler sweep takes {sweep_ms:.1f} ms ({swept}), "
        f"a dispatcher poll {poll_ms:.1f} ms ({with_nothing_due} due)"
    )
    steps_before = ours.aggregate(steps=Sum("steps"))["steps"]
    due_at = timezone.now()
    ours.update(next_step_at=due_at)
    began, cpu_before = time.perf_counter(), cpu_seconds(deployment)
    # A checked run has its next check booked after due_at; one due, handed out or being checked has not.
    wait_until(
        lambda: not ours.exclude(next_step_at__gt=due_at).exists(),
        seconds=900,
        interval=0.2,
        what="every run to be checked",
    )
    seconds, cpu_used = time.perf_counter() - began, cpu_seconds(deployment)
    checks = ours.aggregate(steps=Sum("steps"))["steps"] - steps_before  # some were checked again meanwhile
    now = timezone.now()
    needed = sum(1 / run_check_delay(run, now + datetime.timedelta(days=1)) for run in ours.only("started_at"))
    print(
        f"  all {args.in_flight} due at once: every one checked within {seconds:.1f} s, {checks} checks = "
        f"{checks / seconds:.0f} checks/s; at their ages now these runs need {needed:.0f} checks/s, "
        f"and {args.in_flight / CHECK_MAX_SECONDS:.0f} once older than {CHECK_MAX_SECONDS / CHECK_AGE_FRACTION:.0f} s"
    )
    print_cpu("check", cpu_before, cpu_used, count=checks, seconds=seconds)


def big_dataset(monid_url, key):
    """One run whose dataset is 50 MB: what was kept, and the peak memory of the worker that read it."""
    from providers.models import Endpoint
    from providers.queries import ENDPOINT_CACHE_SECONDS
    from runs.models import Run

    # Priced per call, so no hold caps the items read and the output's byte cap is what bounds them; the web
    # workers see the new price once their copy of the endpoint expires.
    Endpoint.objects.filter(path="/apidojo/tweet-scraper").update(price_type="PER_CALL", price_micros=3000)
    time.sleep(ENDPOINT_CACHE_SECONDS + 1)
    run_id = post_runs(monid_url, key, 1, 1, lambda i: [f"big-{uuid.uuid4().hex[:8]}", "emulator:items-10000x5000"])[0]
    wait_until(
        lambda: Run.objects.filter(pk=run_id, status__in=Run.TERMINAL).exists(),
        seconds=300,
        what="the 50 MB run to end",
    )
    run = Run.objects.get(pk=run_id)
    kept_mb = len(json.dumps(run.output, separators=(",", ":"))) / 1e6
    print(
        f"  a 50 MB dataset: {run.status}, kept {run.result_count} of 10000 items ({kept_mb:.1f} MB), "
        f"outputTruncated {run.output_truncated}; peak RSS of the worker that read it "
        f"{rss_peak_mb(int(run.worker.rsplit(':', 1)[1])):.0f} MB"
    )


def print_metrics(monid_url, token):
    """The deployment's /metrics after the phases above, Monid's own series only."""
    text = requests.get(f"{monid_url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=60).text
    print("  /metrics, the monid_ series:")
    for line in text.splitlines():
        if line.startswith(("monid_", "# HELP monid_", "# TYPE monid_")):
            print(f"    {line}")


def print_health(began):
    """Each endpoint's health (runs.health) over this bench's runs: its window widened to the whole bench."""
    from django.conf import settings
    from django.utils import timezone

    from providers.health import health_table
    from runs.health import endpoint_health_compute

    settings.MONID_HEALTH_WINDOW_MINUTES = int((time.monotonic() - began) // 60) + 1
    print(f"  provider health over the bench's runs (a window of {settings.MONID_HEALTH_WINDOW_MINUTES} min):")
    for line in health_table(endpoint_health_compute(now=timezone.now())).splitlines():
        print(f"    {line}")


def main():
    parser = runs_bench_arguments(
        __doc__, runs=1000, run_ms=1000, rate=25, rate_help="runs posted a second in the steady phase"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="clients posting at once")
    parser.add_argument("--steady-runs", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=5000)
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes")
    parser.add_argument("--workers", type=int, default=4, help="workers per qcluster")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--print-metrics",
        action="store_true",
        help="end by printing the deployment's /metrics (every process's counts added up)",
    )
    parser.add_argument(
        "--print-health",
        action="store_true",
        help="end by printing each endpoint's provider health over the bench's runs",
    )
    args = parser.parse_args()
    began = time.monotonic()
    # The dispatcher in a process of its own, as a deployment at scale runs it.
    with bench_deployment("monid-bench-", MONID_WORKERS=str(args.workers), MONID_DISPATCH_IN_WORKER="0") as (
        deployment,
        key,
    ):
        metrics_token = secrets.token_urlsafe()
        if args.print_metrics:
            deployment.env.update(
                MONID_METRICS_TOKEN=metrics_token, PROMETHEUS_MULTIPROC_DIR=str(deployment.log_dir / "metrics")
            )
        emulators_url = deployment.emulators()
        monid_url = deployment.web(workers=args.web_workers)
        for i in range(args.clusters):
            deployment.manage(f"cluster-{i}", "qcluster")
        deployment.manage("dispatcher", "dispatch_runs")
        print(
            f"{setup_name()}; {args.clusters} qcluster x {args.workers} workers, gunicorn x {args.web_workers}, "
            f"{os.cpu_count()} CPUs",
            flush=True,
        )
        throughput(deployment, monid_url, emulators_url, key, args)
        latency(monid_url, emulators_url, key, args)
        big_dataset(monid_url, key)
        if args.in_flight:
            in_flight(deployment, monid_url, key, args)
        if args.print_health:
            print_health(began)
        if args.print_metrics:
            print_metrics(monid_url, metrics_token)


if __name__ == "__main__":
    main()
