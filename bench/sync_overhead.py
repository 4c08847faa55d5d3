"""How much time a synchronous provider call gains by going through Monid, and how much throughput it keeps.

Starts the PDL emulator under gunicorn with a fixed answer delay (--delay-ms), and Monid under gunicorn as the
README recommends for two cores, on a fresh database of DATABASE_URL's kind (SQLite when unset; Redis as the
broker and cache when REDIS_URL is set). Then, at each concurrency, it drives the same request mix for --seconds
(after a second of warm-up), first straight at the emulator, then through `POST /v1/run` with a funded live key
(so every run takes its hold and is charged), and prints requests per second both ways and their ratio, and the
latency Monid adds (through Monid minus direct) at p50, p95 and p99, with the CPU each side spent per request;
and, for reference, what an empty view of Monid's (`GET /healthz`) answers through the same gunicorn: the floor that
Django and gunicorn set on this machine, before Monid does anything.

The mix: of each client's requests, one in four asks for an address PDL has no record of (its 404), the rest
match; every other one carries an Idempotency-Key of its own. Every answer is checked, and at the end every run
Monid answered for must be in the database, COMPLETED with the provider's status.

    make bench-sync
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-sync
"""

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import answers, bench_deployment, cpu_seconds, free_port, setup_name, wait_until  # noqa: E402

WEB_WORKERS, WEB_THREADS = 2, 8  # the README's recommendation for two cores
NO_MATCH = "nomatch@example.com"
FLOOR = ("GET", "/healthz", None, {})  # Django, DRF-free, no query: what any request to Monid costs at least


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def requests_of(client: int, i: int, key: str) -> tuple[tuple, tuple, int]:
    """Request i of a client, straight to PDL and through Monid, and the status PDL answers it with (the
    floor's request, to an empty view of Monid's, is FLOOR)."""
    email = NO_MATCH if i % 4 == 3 else f"bench-{client}-{i}@example.com"
    direct = ("GET", f"/pdl/v5/person/enrich?email={email}", None, {"X-Api-Key": "sandbox-pdl-key"})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if i % 2:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    body = json.dumps({"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}})
    return direct, ("POST", "/v1/run", body, headers), 404 if email == NO_MATCH else 200


def drive(port: int, *, concurrency: int, seconds: float, way: str, key: str) -> dict:
    """`concurrency` clients, each on one kept-alive connection, sending request after request for `seconds`;
    returns their latencies (ms), how many requests were answered, and the wall time taken."""
    latencies, answered, errors, lock = [], Counter(), [], threading.Lock()
    start_gate, deadline = threading.Barrier(concurrency + 1), [0.0]

    def client(n):
        connection, mine = http.client.HTTPConnection("127.0.0.1", port, timeout=60), []
        start_gate.wait()
        i = 0
        while time.perf_counter() < deadline[0]:
            direct, monid, provider_status = requests_of(n, i, key)
            method, path, body, headers = {"direct": direct, "monid": monid, "floor": FLOOR}[way]
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            mine.append((time.perf_counter() - began) * 1000)
            got, wanted = response.status, {"direct": provider_status, "monid": 200, "floor": 200}[way]
            if way == "monid":
                got, wanted = (got, json.loads(payload)["providerResponse"]["httpStatus"]), (200, provider_status)
            if got != wanted:
                errors.append(f"{method} {path} answered {got}: {payload[:300]!r}")
                break
            i += 1
        with lock:
            latencies.extend(mine)
            answered["requests"] += len(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"a request went wrong: {errors[0]}")
    return {"latencies": latencies, "requests": answered["requests"], "seconds": time.perf_counter() - began}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=int, default=20, help="how long the PDL emulator takes to answer")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time at each concurrency, each way")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    with bench_deployment("monid-bench-sync-") as (deployment, key):
        deployment.env["MONID_EMULATOR_PDL_DELAY_MS"] = str(args.delay_ms)
        emulator_port = free_port()
        deployment.start("emulator", [sys.executable, "-m", "gunicorn", "providers.emulators.wsgi", "--bind",
                                      f"127.0.0.1:{emulator_port}", "--worker-class", "gthread", "--threads", "64"])
        emulator_url = f"http://127.0.0.1:{emulator_port}"
        wait_until(lambda: answers(f"{emulator_url}/apify/v2/actor-runs/none"), what="the emulator")
        deployment.use_emulators(emulator_url)
        monid_port = int(deployment.web(workers=WEB_WORKERS, threads=WEB_THREADS).rsplit(":", 1)[1])

        print(f"{setup_name()}; PDL emulator answering in {args.delay_ms} ms; Monid on gunicorn {WEB_WORKERS} "
              f"workers x {WEB_THREADS} threads; {args.seconds:g} s each way at each concurrency")
        print(f"{'':>7} {'requests per second':^31}   {'latency Monid adds, ms':^23}   {'CPU ms per request':^26}")
        print(f"{'clients':>7} {'direct':>8}{'Monid':>8}{'ratio':>7}{'floor':>8}   {'p50':>7}{'p95':>8}{'p99':>8}   "
              f"{'direct':>7}{'web':>7}{'db':>6}{'floor':>6}")
        monid_requests = 0
        for concurrency in args.concurrency:
            result = {}
            for way, port in (("direct", emulator_port), ("monid", monid_port), ("floor", monid_port)):
                warm = drive(port, concurrency=concurrency, seconds=1.0, way=way, key=key)
                cpu_before = cpu_seconds(deployment)
                result[way] = drive(port, concurrency=concurrency, seconds=args.seconds, way=way, key=key)
                cpu_after = cpu_seconds(deployment)
                result[way]["cpu"] = {role: cpu_after.get(role, 0) - cpu_before.get(role, 0) for role in cpu_after}
                if way == "monid":
                    monid_requests += warm["requests"] + result[way]["requests"]
            direct, monid, floor = result["direct"], result["monid"], result["floor"]
            rate = {way: r["requests"] / r["seconds"] for way, r in result.items()}
            added = [percentile(monid["latencies"], q) - percentile(direct["latencies"], q) for q in (.5, .95, .99)]
            per_request = lambda r, *roles: sum(r["cpu"].get(role, 0) for role in roles) * 1000 / r["requests"]  # noqa: E731
            print(f"{concurrency:>7} {rate['direct']:>8.0f}{rate['monid']:>8.0f}{rate['monid'] / rate['direct']:>7.0%}"
                  f"{rate['floor']:>8.0f}   {added[0]:>7.2f}{added[1]:>8.2f}{added[2]:>8.2f}   "
                  f"{per_request(direct, 'bench client', 'emulator'):>7.2f}{per_request(monid, 'web'):>7.2f}"
                  f"{per_request(monid, 'postgres', 'redis-server'):>6.2f}{per_request(floor, 'web'):>6.2f}",
                  flush=True)
        print("floor: GET /healthz, an empty view of Monid's, through the same gunicorn (no query, no key).\n"
              "CPU: direct = this client and the emulator; web = Monid's gunicorn workers; db = PostgreSQL and "
              "Redis, whoever they served (SQLite works inside the web workers); floor = the web workers per /healthz.")
        check_recorded(monid_requests)


def check_recorded(expected: int) -> None:
    """Every run Monid answered for was durably recorded, ended and charged as the provider answered."""
    from runs.models import Run

    statuses = Counter(Run.objects.values_list("status", "provider_http_status"))
    recorded = sum(statuses.values())
    ok = recorded == expected and set(statuses) <= {("COMPLETED", 200), ("COMPLETED", 404)}
    print(f"{'OK' if ok else 'WRONG'}: {expected} requests through Monid, {recorded} runs recorded: "
          + ", ".join(f"{count} {status} (PDL {http})" for (status, http), count in sorted(statuses.items())))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
