"""How much time a synchronous provider call gains by going through Monid, and how much throughput it keeps.

Starts the PDL emulator under gunicorn with a fixed answer delay (--delay-ms, 20), and Monid under gunicorn as
docs/operations.md ("Processes: the Procfile") recommends for two cores, on a fresh database. Then, at each
concurrency (--concurrency, 1 8 32), it drives
the same request mix for --seconds (after a second of warm-up), first straight at the emulator, then through
`POST /v1/run` with a funded live key (so every run takes its hold and is charged), and prints requests per second
both ways and their ratio, and the latency Monid adds (through Monid minus direct) at p50, p95 and p99, with the CPU
each side spent per request. Two references go through the same gunicorn at the same concurrency: an empty view of
Monid's (`GET /healthz`), the floor that Django and gunicorn set on this machine before Monid does anything; and the
same `POST /v1/run` requests with a well-formed key that no workspace has, each looked up (cache, then database) and
answered 401. Web CPU per run ÷ web CPU per 401 is printed at each concurrency; the summary gives it at 1 client,
where each request has a worker thread and a core to itself, so that CPU per request is the work of the request and
not of threads contending for the GIL, the cores or SQLite's lock (more of which a 401 meets at 8 and 32 clients, as
nothing slows it down while runs wait 20 ms on the provider).

The setups: with DATABASE_URL set, that one (SQLite when empty; Redis as the broker and cache when REDIS_URL is set).
Without it, SQLite, then PostgreSQL + Redis at --postgres-url and --redis-url (skipped, saying so, when either does
not answer), each in a process of its own (Django reads its settings once per process), one after the other. The
run ends with a summary of the four measures of issue 19, a column per setup: web CPU per run ÷ per 401, the latency
added at 1 client (p50, p99), and the throughput kept at 8 and at 32 clients, as a share of direct.

The mix: of each client's requests, one in four asks for an address PDL has no record of (its 404), the rest
match; every other one carries an Idempotency-Key of its own. Every answer is checked, and at the end every run
Monid answered for must be in the database, COMPLETED with the provider's status.

    make bench-sync                                     # SQLite, then PostgreSQL + Redis
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-sync
"""

import argparse
import http.client
import json
import os
import secrets
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_deployment, cpu_seconds, setup_name  # noqa: E402

WEB_WORKERS, WEB_THREADS = 2, 8  # docs/operations.md's recommendation for two cores
NO_MATCH = "nomatch@example.com"
FLOOR = ("GET", "/healthz", None, {})  # Django, DRF-free, no query: what any request to Monid costs at least
# Well-formed, so it is looked up as a real key would be (unknown keys are never cached); no workspace has it.
UNKNOWN_KEY = "monid_live_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
WAYS = ("direct", "monid", "floor", "refused")


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def requests_of(client: int, i: int, key: str) -> tuple[dict, int]:
    """Request i of a client, each way (straight to PDL, through Monid, the floor, and through Monid with a key
    nobody has), and the status PDL answers it with."""
    email = NO_MATCH if i % 4 == 3 else f"bench-{client}-{i}@example.com"
    direct = ("GET", f"/pdl/v5/person/enrich?email={email}", None, {"X-Api-Key": "sandbox-pdl-key"})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if i % 2:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    body = json.dumps({"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}})
    refused = {**headers, "Authorization": f"Bearer {UNKNOWN_KEY}"}
    ways = {
        "direct": direct,
        "monid": ("POST", "/v1/run", body, headers),
        "floor": FLOOR,
        "refused": ("POST", "/v1/run", body, refused),
    }
    return ways, 404 if email == NO_MATCH else 200


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
            ways, provider_status = requests_of(n, i, key)
            method, path, body, headers = ways[way]
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            mine.append((time.perf_counter() - began) * 1000)
            got, wanted = response.status, {"direct": provider_status, "monid": 200, "floor": 200, "refused": 401}[way]
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
    parser.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="the second setup's server, without DATABASE_URL (a database of its own is made on it)",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/0",
        help="the second setup's Redis, without DATABASE_URL (moved to a database number of its own)",
    )
    parser.add_argument("--summary-to", help=argparse.SUPPRESS)  # one setup of several: its summary, as JSON
    args = parser.parse_args()

    if args.summary_to:
        Path(args.summary_to).write_text(json.dumps(measure(args)))
    elif "DATABASE_URL" in os.environ:
        print_summary([measure(args)])
    else:
        print_summary(each_setup(args))


def each_setup(args) -> list[dict]:
    """SQLite, then PostgreSQL + Redis if both answer, each measured by this script in a process of its own."""
    base = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    setups = [{**base, "DATABASE_URL": ""}]
    unreachable = unreachable_servers(args.postgres_url, args.redis_url)
    if unreachable:
        print(f"PostgreSQL + Redis skipped: {unreachable}\n", flush=True)
    else:
        setups.append({**base, "DATABASE_URL": args.postgres_url, "REDIS_URL": args.redis_url})
    summaries = []
    with tempfile.TemporaryDirectory(prefix="monid-bench-sync-") as workdir:
        for n, env in enumerate(setups):
            summary_file = Path(workdir) / f"{n}.json"
            if n:
                print(flush=True)
            done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--summary-to", str(summary_file)], env=env)
            if done.returncode:
                raise SystemExit(done.returncode)
            summaries.append(json.loads(summary_file.read_text()))
    return summaries


def unreachable_servers(postgres_url: str, redis_url: str) -> str:
    """Why PostgreSQL or Redis cannot be used, or "" when both answer."""
    import psycopg
    import redis

    try:
        psycopg.connect(postgres_url, connect_timeout=5).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {postgres_url} does not answer ({str(error).strip().splitlines()[0]})"
    try:
        redis.Redis.from_url(redis_url, socket_timeout=5).ping()
    except redis.RedisError as error:
        return f"Redis at {redis_url} does not answer ({error})"
    return ""


def measure(args) -> dict:
    """One setup, as DATABASE_URL and REDIS_URL say: the table, the correctness check, and the issue's measures."""
    with bench_deployment("monid-bench-sync-") as (deployment, key):
        deployment.env["MONID_EMULATOR_PDL_DELAY_MS"] = str(args.delay_ms)
        emulator_url = deployment.emulator_gunicorn(threads=64)
        emulator_port = int(emulator_url.rsplit(":", 1)[1])
        deployment.use_emulators(emulator_url)
        monid_port = int(deployment.web(workers=WEB_WORKERS, threads=WEB_THREADS).rsplit(":", 1)[1])

        print(
            f"{setup_name()}; PDL emulator answering in {args.delay_ms} ms; Monid on gunicorn {WEB_WORKERS} "
            f"workers x {WEB_THREADS} threads; {args.seconds:g} s each way at each concurrency"
        )
        print(f"{'':>7} {'requests per second':^31}   {'latency Monid adds, ms':^23}   {'CPU ms per request':^46}")
        print(
            f"{'clients':>7} {'direct':>8}{'Monid':>8}{'ratio':>7}{'floor':>8}   {'p50':>7}{'p95':>8}{'p99':>8}   "
            f"{'direct':>7}{'web':>7}{'db':>6}{'floor':>6}{'401':>6}{'run÷401':>8}"
        )
        monid_requests, rows = 0, {}
        for concurrency in args.concurrency:
            result = {}
            for way in WAYS:
                port = emulator_port if way == "direct" else monid_port
                warm = drive(port, concurrency=concurrency, seconds=1.0, way=way, key=key)
                cpu_before = cpu_seconds(deployment)
                result[way] = drive(port, concurrency=concurrency, seconds=args.seconds, way=way, key=key)
                cpu_after = cpu_seconds(deployment)
                result[way]["cpu"] = {role: cpu_after.get(role, 0) - cpu_before.get(role, 0) for role in cpu_after}
                if way == "monid":
                    monid_requests += warm["requests"] + result[way]["requests"]
            direct, monid, floor, refused = (result[way] for way in WAYS)
            rate = {way: r["requests"] / r["seconds"] for way, r in result.items()}
            added = [percentile(monid["latencies"], q) - percentile(direct["latencies"], q) for q in (0.5, 0.95, 0.99)]
            per_request = lambda r, *roles: sum(r["cpu"].get(role, 0) for role in roles) * 1000 / r["requests"]  # noqa: E731
            cpu_ratio = per_request(monid, "web") / per_request(refused, "web")
            rows[concurrency] = {
                "share": rate["monid"] / rate["direct"],
                "p50": added[0],
                "p99": added[2],
                "cpu_ratio": cpu_ratio,
            }
            print(
                f"{concurrency:>7} {rate['direct']:>8.0f}{rate['monid']:>8.0f}{rate['monid'] / rate['direct']:>7.0%}"
                f"{rate['floor']:>8.0f}   {added[0]:>7.2f}{added[1]:>8.2f}{added[2]:>8.2f}   "
                f"{per_request(direct, 'bench client', 'emulator'):>7.2f}{per_request(monid, 'web'):>7.2f}"
                f"{per_request(monid, 'postgres', 'redis-server'):>6.2f}{per_request(floor, 'web'):>6.2f}"
                f"{per_request(refused, 'web'):>6.2f}{cpu_ratio:>8.1f}",
                flush=True,
            )
        print(
            "floor: GET /healthz, an empty view of Monid's, through the same gunicorn (no query, no key).\n"
            "CPU: direct = this client and the emulator; web = Monid's gunicorn workers; db = PostgreSQL and "
            "Redis, whoever they served (SQLite works inside the web workers); floor = the web workers per /healthz;\n"
            "401 = the web workers per POST /v1/run with a key nobody has, at the same concurrency; run÷401 = web "
            "per run ÷ web per 401."
        )
        check_recorded(monid_requests)
        return {"setup": setup_name(), "delay_ms": args.delay_ms, "seconds": args.seconds, "rows": rows}


def check_recorded(expected: int) -> None:
    """Every run Monid answered for was durably recorded, ended and charged as the provider answered."""
    from runs.models import Run

    statuses = Counter(Run.objects.values_list("status", "provider_http_status"))
    recorded = sum(statuses.values())
    ok = recorded == expected and set(statuses) <= {("COMPLETED", 200), ("COMPLETED", 404)}
    print(
        f"{'OK' if ok else 'WRONG'}: {expected} requests through Monid, {recorded} runs recorded: "
        + ", ".join(f"{count} {status} (PDL {http})" for (status, http), count in sorted(statuses.items()))
    )
    if not ok:
        raise SystemExit(1)


def print_summary(summaries: list[dict]) -> None:
    """Issue 19's four measures, a column per setup ("-" where that concurrency was not measured)."""

    def row_of(summary, concurrency):
        return summary["rows"].get(str(concurrency)) or summary["rows"].get(concurrency)

    def cell(summary, concurrency, field, form):
        row = row_of(summary, concurrency)
        return format(row[field], form) if row else "-"

    width = max(24, *(len(summary["setup"]) + 2 for summary in summaries))
    lines = [
        ("web CPU per sync run ÷ per 401, 1 client", lambda s: cell(s, 1, "cpu_ratio", ".1f")),
        ("latency added at 1 client, p50 ms", lambda s: cell(s, 1, "p50", ".2f")),
        ("latency added at 1 client, p99 ms", lambda s: cell(s, 1, "p99", ".2f")),
        ("throughput, share of direct, 8 clients", lambda s: cell(s, 8, "share", ".0%")),
        ("throughput, share of direct, 32 clients", lambda s: cell(s, 32, "share", ".0%")),
    ]
    first = summaries[0]
    print(f"\nSummary (PDL emulator answering in {first['delay_ms']} ms, {first['seconds']:g} s each way)")
    print(f"{'':<42}" + "".join(f"{summary['setup']:>{width}}" for summary in summaries))
    for label, value in lines:
        print(f"{label:<42}" + "".join(f"{value(summary):>{width}}" for summary in summaries))


if __name__ == "__main__":
    main()
