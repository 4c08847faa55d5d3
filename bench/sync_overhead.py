"""How much time Monid adds to a synchronous provider call.

Against a running Monid (`make run`), calls the sandbox PDL emulator directly and through `POST /v1/run` with a
test-mode key (which Monid sends to that same emulator), sequentially, and prints latency percentiles of both.

    .venv/bin/python bench/sync_overhead.py                      # uses var/demo_key and the default ports
    .venv/bin/python bench/sync_overhead.py --requests 500 --monid http://127.0.0.1:8000 --key monid_test_...
"""

import argparse
import statistics
import time
from pathlib import Path

import requests

PDL_SANDBOX_KEY = "sandbox-pdl-key"


def percentiles(samples_ms):
    ordered = sorted(samples_ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "mean": statistics.fmean(ordered)}


def timed(call, n):
    samples = []
    for i in range(n):
        start = time.perf_counter()
        response = call(i)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return samples


def main():
    default_key = Path(__file__).resolve().parent.parent / "var" / "demo_key"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--monid", default="http://127.0.0.1:8000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:8001")
    parser.add_argument("--key", default=default_key.read_text().strip() if default_key.exists() else None)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    if not args.key:
        parser.error("no --key given and var/demo_key is missing: run `make run` first")

    session = requests.Session()

    def direct(i):
        return session.get(f"{args.sandbox}/pdl/v5/person/enrich", params={"email": f"bench{i}@example.com"},
                           headers={"X-Api-Key": PDL_SANDBOX_KEY}, timeout=30)

    def through_monid(i):
        return session.post(f"{args.monid}/v1/run", timeout=30, headers={"Authorization": f"Bearer {args.key}"},
                            json={"provider": "pdl", "endpoint": "/person/enrich",
                                  "input": {"email": f"bench{i}@example.com"}})

    timed(direct, 10), timed(through_monid, 10)  # warm connections and caches
    results = {"direct to PDL emulator": percentiles(timed(direct, args.requests)),
               "through Monid /v1/run": percentiles(timed(through_monid, args.requests))}
    print(f"{args.requests} sequential sync calls each")
    print(f"{'':26}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, p in results.items():
        print(f"{name:26}{p['p50']:10.2f}{p['p90']:10.2f}{p['p99']:10.2f}{p['mean']:10.2f}")
    direct_p, monid_p = results.values()
    print(f"{'Monid adds':26}{monid_p['p50'] - direct_p['p50']:10.2f}{monid_p['p90'] - direct_p['p90']:10.2f}"
          f"{monid_p['p99'] - direct_p['p99']:10.2f}{monid_p['mean'] - direct_p['mean']:10.2f}")


if __name__ == "__main__":
    main()
