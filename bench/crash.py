"""Async runs while workers are SIGKILLed at random: none may be lost, started twice or charged twice.

Starts a deployment of real processes (gunicorn, two qclusters, the dispatcher, the emulators) on a fresh
database of DATABASE_URL's kind (SQLite when unset; Redis as the broker when REDIS_URL is set), posts the runs
at a steady rate (so kills land on runs in every phase), and every few seconds SIGKILLs either one worker
process (its qcluster starts another) or a whole qcluster (as when its machine dies, then starts it again).
Once every run was posted and the killing stops, it waits for every run to end and be settled (its hold
released, its charge taken), and prints what happened, with how many starts were adopted after a kill rather
than repeated.

    make bench-crash                                                  # SQLite + ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-crash
    make bench-crash ARGS="--rate 50 --kill-every 1 --runs 1000"     # harder

Leases and stalls are short here (MONID_RUN_LEASE_SECONDS and MONID_RUN_STALL_SECONDS, printed) so the run
takes minutes, not hours; what must hold does not depend on them.
"""

import collections
import os
import random
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Deployment, bench_deployment, emulator_runs, runs_bench_arguments, setup_name, wait_until  # noqa: E402

FAST_RECOVERY = {"MONID_RUN_LEASE_SECONDS": "4", "MONID_RUN_STALL_SECONDS": "10", "MONID_RECONCILE_SECONDS": "1"}
CLUSTERS = ("cluster-a", "cluster-b")


def start_workers(deployment: Deployment, *, workers_per_cluster: int = 2) -> None:
    # One dispatcher of its own, which no kill reaches, as when it runs apart from the workers; on the ORM broker,
    # clusters that look for tasks often, so that each takes a share of every burst the dispatcher queues.
    deployment.env.update(
        MONID_WORKERS=str(workers_per_cluster), MONID_DISPATCH_IN_WORKER="0", MONID_QUEUE_POLL_MS="50"
    )
    for name in CLUSTERS:
        deployment.manage(name, "qcluster")
    deployment.manage("dispatcher", "dispatch_runs")


def crash_scenario(
    deployment: Deployment,
    *,
    monid_url: str,
    emulators_url: str,
    key: str,
    runs: int,
    rate: float = 10.0,
    run_ms: int = 3000,
    kill_every: float = 3.0,
    seed: int = 0,
    log=print,
) -> dict:
    """Posts `runs` async runs, `rate` a second, while killing workers; waits for all to end; returns what went
    wrong, by kind.

    The caller has Django set up on the deployment's database, which this reads to tell what happened.
    """
    from django.db.models import Sum

    from billing.models import KeyDailyCost, LedgerEntry
    from runs.models import Run

    rng, tag = random.Random(seed), uuid.uuid4().hex[:8]
    posting_done, kills = threading.Event(), collections.Counter()

    began = time.monotonic()

    def post(i):
        time.sleep(max(0.0, began + i / rate - time.monotonic()))
        body = {
            "provider": "apify",
            "endpoint": "/apidojo/tweet-scraper",
            "input": {"searchTerms": [f"{tag}-{i}", f"emulator:duration-{run_ms}"], "maxItems": 3},
        }
        response = requests.post(
            f"{monid_url}/v1/run",
            json=body,
            timeout=60,
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"{tag}-{i}"},
        )
        response.raise_for_status()
        return response.json()["runId"]

    def killer():
        # Kills go on while runs are posted and for a few rounds after, so runs in every phase get hit.
        rounds_after = max(3, round(run_ms / 1000 / kill_every) + 1)
        while rounds_after:
            time.sleep(rng.uniform(0.5, 1.5) * kill_every)
            if posting_done.is_set():
                rounds_after -= 1
            cluster = rng.choice(CLUSTERS)
            workers = deployment.children(cluster)
            if workers and rng.random() < 0.6:
                _sigkill(rng.choice(workers))
                kills["worker"] += 1
            else:
                deployment.kill(cluster)
                deployment.restart(cluster)
                kills["cluster"] += 1

    killing = threading.Thread(target=killer, daemon=True)
    killing.start()
    with ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(post, range(runs)))
    posting_done.set()
    killing.join()
    log(f"posted {runs} runs; killed {kills['worker']} workers and {kills['cluster']} whole clusters; waiting")
    ours = Run.objects.filter(pk__in=run_ids)
    try:
        wait_until(
            lambda: not ours.exclude(status__in=Run.TERMINAL).exists(),
            seconds=300,
            interval=0.5,
            what="every run to end",
        )
    except TimeoutError:
        pass
    try:  # the holds are released and the charges taken by the settler, which may have been killed too
        wait_until(
            lambda: not ours.filter(status__in=Run.TERMINAL, settled_at__isnull=True).exists(),
            seconds=120,
            interval=0.5,
            what="the settler to catch up",
        )
    except TimeoutError:
        pass
    statuses = collections.Counter(ours.values_list("status", flat=True))
    started = collections.Counter(
        run["input"]["searchTerms"][0]
        for run in emulator_runs(emulators_url)
        if str(run["input"].get("searchTerms", [""])[0]).startswith(tag)
    )
    ended = ours.filter(status__in=Run.TERMINAL)
    rolled_up = KeyDailyCost.objects.aggregate(runs=Sum("run_count"), reported=Sum("reported_cost_micros"))
    entries = {
        kind: LedgerEntry.objects.filter(run_id__in=run_ids, kind=kind).aggregate(s=Sum("amount_micros"))["s"] or 0
        for kind in LedgerEntry.Kind.values
    }
    return {
        "runs": runs,
        "statuses": dict(statuses),
        "lost": runs - ended.count(),
        "ended, never settled": ended.filter(settled_at__isnull=True).count(),
        "started twice": sum(1 for count in started.values() if count > 1),
        "never started": runs - len(started),
        "charged twice": (rolled_up["runs"] or 0) - ended.count(),
        "charged micros, runs vs rollup": (
            ended.aggregate(s=Sum("reported_cost_micros"))["s"] or 0,
            rolled_up["reported"] or 0,
        ),
        "charged micros in the ledger": entries["charge"],
        "held micros never released": entries["hold"] - entries["release"],
        "kills": dict(kills),
        "starts adopted after a kill": sum(
            path.read_text(errors="replace").count("adopted provider run")
            for path in deployment.log_dir.glob("cluster-*.log")
        ),
    }


def _sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    parser = runs_bench_arguments(__doc__, runs=500, run_ms=3000, rate=10.0)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills, on average")
    args = parser.parse_args()
    with bench_deployment("monid-crash-", **FAST_RECOVERY) as (deployment, key):
        emulators_url = deployment.emulators()
        monid_url = deployment.web()
        start_workers(deployment)
        print(
            f"{args.runs} runs of {args.run_ms} ms, {args.rate:g} a second, on {setup_name()}; a kill every "
            f"~{args.kill_every:g} s; {', '.join(f'{k}={v}' for k, v in FAST_RECOVERY.items())}",
            flush=True,
        )
        result = crash_scenario(
            deployment,
            monid_url=monid_url,
            emulators_url=emulators_url,
            key=key,
            runs=args.runs,
            rate=args.rate,
            run_ms=args.run_ms,
            kill_every=args.kill_every,
            log=lambda line: print(line, flush=True),
        )
    for name, value in result.items():
        print(f"{name:>32}: {value}")
    runs_charged, rolled_up = result["charged micros, runs vs rollup"]
    bad = (
        result["lost"]
        or result["ended, never settled"]
        or result["started twice"]
        or result["charged twice"]
        or result["held micros never released"]
        or not runs_charged == rolled_up == result["charged micros in the ledger"]
    )
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
