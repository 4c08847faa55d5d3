"""Throughput and latency of async runs, and whether the dispatcher keeps up with thousands in flight.

Starts a deployment of real processes (gunicorn, qcluster, the dispatcher, the emulators) on a fresh database
of DATABASE_URL's kind (SQLite when unset; Redis as the broker when REDIS_URL is set), then:

1. posts --runs async runs, each an emulated actor run of --run-ms, from --concurrency clients at once, and
   prints completed runs per second (first run created to last run completed), dispatch latency (run created
   to the provider's start, both clocks on this machine) and end-to-end overhead (created to completed, minus
   the emulated run time) at p50/p99;
2. starts --in-flight runs that last an hour, then times one reconciler sweep and one dispatcher poll over
   them, and how long the workers take to check every one of them once when all come due together.

    .venv/bin/python bench/async_runs.py                              # SQLite + ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/async_runs.py
"""

import argparse
import datetime
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Deployment, deployment_env, prepare, wait_until  # noqa: E402


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def post_runs(monid_url, key, count, concurrency, terms):
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))

    def post(i):
        body = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper",
                "input": {"searchTerms": terms(i), "maxItems": 3}}
        response = session.post(f"{monid_url}/v1/run", json=body, timeout=60,
                                headers={"Authorization": f"Bearer {key}"})
        response.raise_for_status()
        return response.json()["runId"]

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(post, range(count)))


def provider_starts(emulators_url, tag):
    """First search term -> when the emulator started that actor run."""
    runs = requests.get(f"{emulators_url}/apify/emulator/runs", timeout=60,
                        headers={"Authorization": "Bearer sandbox-apify-token"}).json()["data"]
    return {run["input"]["searchTerms"][0]: datetime.datetime.fromisoformat(run["startedAt"])
            for run in runs if str(run["input"]["searchTerms"][0]).startswith(tag)}


def throughput(monid_url, emulators_url, key, args):
    from django.db.models import Max, Min

    from runs.models import Run

    tag = uuid.uuid4().hex[:8]
    run_ids = post_runs(monid_url, key, args.runs, args.concurrency,
                        lambda i: [f"{tag}-{i}", f"emulator:duration-{args.run_ms}"])
    ours = Run.objects.filter(pk__in=run_ids)
    wait_until(lambda: not ours.exclude(status__in=Run.TERMINAL).exists(), seconds=600, interval=0.2,
               what="every run to end")
    span = ours.aggregate(first=Min("created_at"), last=Max("completed_at"))
    starts = provider_starts(emulators_url, tag)
    rows = list(ours.values_list("input", "created_at", "completed_at", "status"))
    dispatch = [(starts[run_input["searchTerms"][0]] - created).total_seconds() * 1000
                for run_input, created, _, _ in rows]
    overhead = [(completed - created).total_seconds() * 1000 - args.run_ms for _, created, completed, _ in rows]
    statuses = sorted({status for *_, status in rows})
    seconds = (span["last"] - span["first"]).total_seconds()
    print(f"  {args.runs} runs of {args.run_ms} ms, {args.concurrency} clients: ended {statuses}")
    print(f"  completed runs/s:          {args.runs / seconds:8.1f}   ({seconds:.1f} s from first created "
          f"to last completed)")
    print(f"  dispatch latency ms:       p50 {percentile(dispatch, .5):7.1f}   p99 {percentile(dispatch, .99):7.1f}")
    print(f"  end-to-end overhead ms:    p50 {percentile(overhead, .5):7.1f}   p99 {percentile(overhead, .99):7.1f}")


def in_flight(monid_url, key, args):
    from django.utils import timezone

    from runs.models import Run
    from runs.services import runs_dispatch, runs_reconcile

    tag = uuid.uuid4().hex[:8]
    run_ids = post_runs(monid_url, key, args.in_flight, args.concurrency,
                        lambda i: [f"{tag}-{i}", "emulator:duration-3600000"])
    ours = Run.objects.filter(pk__in=run_ids)
    wait_until(lambda: not ours.filter(provider_run_id="").exists(), seconds=600, interval=0.5,
               what="every run to start")
    began = time.perf_counter()
    swept = runs_reconcile()
    sweep_ms = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    with_nothing_due = runs_dispatch()
    poll_ms = (time.perf_counter() - began) * 1000
    print(f"  {args.in_flight} runs in flight: a reconciler sweep takes {sweep_ms:.1f} ms ({swept}), "
          f"a dispatcher poll {poll_ms:.1f} ms ({with_nothing_due} due)")
    due_at = timezone.now()
    ours.update(next_step_at=due_at)
    began = time.perf_counter()
    # A checked run has its next check booked after due_at; one due, handed out or being checked has not.
    wait_until(lambda: not ours.exclude(next_step_at__gt=due_at).exists(), seconds=900, interval=0.2,
               what="every run to be checked")
    seconds = time.perf_counter() - began
    print(f"  all {args.in_flight} due at once: every one checked in {seconds:.1f} s = "
          f"{args.in_flight / seconds:.0f} checks/s; at the 30 s cap between checks, "
          f"{args.in_flight} runs need {args.in_flight / 30:.0f} checks/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--run-ms", type=int, default=1000, help="how long each emulated actor run takes")
    parser.add_argument("--concurrency", type=int, default=16, help="clients posting at once")
    parser.add_argument("--in-flight", type=int, default=5000)
    parser.add_argument("--clusters", type=int, default=1, help="qcluster processes")
    parser.add_argument("--workers", type=int, default=4, help="workers per qcluster")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="monid-bench-") as workdir:
        redis_url, key, drop = prepare(Path(workdir))
        kind = "PostgreSQL" if os.environ["DATABASE_URL"].startswith("postgres") else "SQLite"
        env = deployment_env(database_url=os.environ["DATABASE_URL"], redis_url=redis_url,
                             MONID_WORKERS=str(args.workers))
        try:
            with Deployment(env, Path(workdir)) as deployment:
                emulators_url = deployment.emulators()
                monid_url = deployment.web(workers=args.web_workers)
                for i in range(args.clusters):
                    deployment.manage(f"cluster-{i}", "qcluster")
                deployment.manage("dispatcher", "dispatch_runs")
                print(f"{kind} + {'Redis' if redis_url else 'the ORM broker'}; {args.clusters} qcluster x "
                      f"{args.workers} workers, gunicorn x {args.web_workers}, {os.cpu_count()} CPUs", flush=True)
                throughput(monid_url, emulators_url, key, args)
                if args.in_flight:
                    in_flight(monid_url, key, args)
        finally:
            from django.db import connections
            connections.close_all()
            drop()


if __name__ == "__main__":
    main()
