"""What an idle deployment costs: the share of one core its processes use when nothing happens.

Starts web (gunicorn) and a qcluster, which dispatches runs in one of its workers, on a fresh database of
DATABASE_URL's kind (SQLite when unset; Redis as the broker when REDIS_URL is set); with --separate, the
dispatcher runs apart (`dispatch_runs`, MONID_DISPATCH_IN_WORKER=0), as the Procfile once had it. It waits
--settle seconds, then adds up the user and system CPU time of every process of the deployment (their ended
children's too) over --seconds, and prints it per process and in total, as a share of one core. The database
and Redis servers are left out: here they may serve others too.

    make bench-idle                                                   # SQLite + ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-idle
    make bench-idle ARGS="--separate --seconds 30"
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_deployment, setup_name  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_by_process(deployment, workers: int) -> dict[int, tuple[str, float]]:
    """pid -> (what it is, CPU seconds so far: its own and its ended children's) for every process of ours."""
    used = {}
    for role in deployment.processes:
        for pid, title in _titles(deployment.processes[role].pid, role, workers).items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended while we looked
            # utime, stime, cutime, cstime (a qcluster recycles its workers)
            used[pid] = (title, sum(int(field) for field in fields[11:15]) / TICKS)
    return used


def _titles(pid: int, role: str, workers: int) -> dict[int, str]:
    """What each process of one command is. Without setproctitle every qcluster process looks alike: its
    sentinel spawns the workers, then the monitor, then the pusher, so their pids tell them apart (until one is
    reincarnated)."""
    titles = {pid: role}
    for child in _children(pid):
        titles[child] = f"{role} sentinel" if role == "qcluster" else f"{role} worker"
        names = [f"worker {i + 1}" for i in range(workers)] + ["monitor", "pusher"]
        for name, grandchild in zip(names, _children(child)):
            titles[grandchild] = f"{role} {name}"
    return titles


def _children(pid: int) -> list[int]:
    try:
        return sorted(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to measure")
    parser.add_argument("--settle", type=float, default=10, help="how long to wait after starting, first")
    parser.add_argument("--workers", type=int, default=4, help="workers of the qcluster")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--separate", action="store_true", help="the dispatcher in a process of its own")
    args = parser.parse_args()
    in_worker = "0" if args.separate else "1"
    with bench_deployment("monid-idle-", MONID_WORKERS=str(args.workers), MONID_DISPATCH_IN_WORKER=in_worker) as (
        deployment,
        _,
    ):
        deployment.web(workers=args.web_workers)
        deployment.manage("qcluster", "qcluster")
        if args.separate:
            deployment.manage("dispatcher", "dispatch_runs")
        shape = "web + qcluster + dispatch_runs" if args.separate else "web + qcluster (dispatching)"
        print(
            f"{setup_name()}; {shape}; qcluster x {args.workers} workers, gunicorn x {args.web_workers}, "
            f"{os.cpu_count()} CPUs; settling {args.settle:g} s, measuring {args.seconds:g} s",
            flush=True,
        )
        time.sleep(args.settle)
        before, began = cpu_by_process(deployment, args.workers), time.monotonic()
        time.sleep(args.seconds)
        after, wall = cpu_by_process(deployment, args.workers), time.monotonic() - began
        total = 0.0
        for pid, (title, used) in sorted(after.items()):
            share = (used - before.get(pid, (title, 0.0))[1]) / wall
            total += share
            print(f"  {share:7.2%}  {pid:>7}  {title}")
        gone = set(before) - set(after)
        if gone:
            print(f"  ({len(gone)} process(es) ended while measured; their time counts in their parent's once reaped)")
        print(f"  {total:7.2%}  of one core, in total")


if __name__ == "__main__":
    main()
