"""Where the time of a synchronous run goes inside Monid: `POST /v1/run` profiled with pyinstrument.

On a fresh database of DATABASE_URL's kind (Redis as the cache when REDIS_URL is set), with production settings
and the PDL emulator in a process of its own (answering at once, so that its work is not counted), sends
--requests runs through the whole Django stack in this process (the test client, a funded live key, the mix of
bench/sync_overhead.py), sampled by pyinstrument, and prints the milliseconds each part of the path takes per
request. The profiler slows everything a little; the shares are what to read.

    make bench-sync-profile
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 make bench-sync-profile
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Deployment, bench_database, setup_name  # noqa: E402
from bench.sync_overhead import requests_of  # noqa: E402

# The parts of the path, as the functions that do them, in the order a request meets them. A part's time excludes
# the parts nested in it (the schema validation is inside the admission).
PARTS = [
    ("key lookup (cache)", "ApiKeyAuthentication.authenticate"),
    ("rate limit", "ApiKeyRateThrottle.allow_request"),
    ("Idempotency-Key claim (1 in 2 requests)", "idempotency_claim"),
    ("body: parse and check its shape", "InputSerializer.is_valid"),
    ("endpoint lookup (kept per process)", "endpoint_get_enabled"),
    ("input schema validation", "run_input_validate"),
    ("admission: run and hold, 1 transaction", "run_create"),
    ("provider call (HTTP to the emulator)", "HttpProtocol.call"),
    ("run end: outcome, costs and timeline, 1 transaction (settled later, off the path)", "run_finish"),
    ("response: serialize", "respond"),
]
REQUEST = "Client.post"
# Where the database driver runs a statement or a commit: the rest of a part's time is Python (mostly the ORM's).
DATABASE = {"CursorWrapper._execute", "BaseDatabaseWrapper._commit"}


def part_of(frame) -> str | None:
    qualified = f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function
    return next(
        (part for part, function in PARTS if function == (qualified if "." in function else frame.function)), None
    )


def database_seconds(frame) -> float:
    """The time of the outermost DATABASE frames: the database's own work, and the waits for it."""
    if f"{frame.class_name}.{frame.function}" in DATABASE:
        return frame.time
    return sum(database_seconds(child) for child in frame.children)


def request_seconds(frame) -> float:
    """The time of the outermost REQUEST frames: the requests' whole time."""
    if frame.function == REQUEST.split(".")[1] and frame.class_name == REQUEST.split(".")[0]:
        return frame.time
    return sum(request_seconds(child) for child in frame.children)


def part_seconds(frame, times: dict, inside: str | None = None) -> None:
    """Adds the time of each part's frames to it, less that of the parts nested in them."""
    part = part_of(frame)
    if part:
        times[part] = times.get(part, 0.0) + frame.time
        if inside:
            times[inside] -= frame.time
    for child in frame.children:
        part_seconds(child, times, part or inside)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    os.environ.update(DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="testserver", MONID_RATE_LIMIT_PER_MINUTE="1000000")

    with bench_database("monid-bench-profile-") as (_, workdir), Deployment(dict(os.environ), workdir) as deployment:
        from django.conf import settings
        from django.test import Client
        from pyinstrument import Profiler

        from billing.accounts import workspace_get_or_create
        from billing.api_keys import api_key_create
        from billing.services import wallet_credit

        emulator_url = deployment.emulator_gunicorn(threads=4)
        settings.PDL_API_BASE_URL, settings.PDL_API_KEY = f"{emulator_url}/pdl", "sandbox-pdl-key"
        workspace = workspace_get_or_create(slug="bench", name="Bench")
        wallet_credit(workspace=workspace, amount_micros=10**12, note="bench funds")
        key = api_key_create(workspace=workspace, label="bench")[1]
        client = Client()

        def run(i):
            ways, provider_status = requests_of(0, i, key)
            _, path, body, headers = ways["monid"]
            extra = {
                f"HTTP_{name.upper().replace('-', '_')}": value
                for name, value in headers.items()
                if name != "Content-Type"
            }
            response = client.post(path, data=body, content_type="application/json", **extra)
            assert response.status_code == 200, response.content
            assert json.loads(response.content)["providerResponse"]["httpStatus"] == provider_status

        for i in range(50):  # connections, caches and the rollup's rows of the day
            run(i)
        profiler = Profiler(interval=0.0005)
        with profiler:
            for i in range(50, 50 + args.requests):
                run(i)
        root, times = profiler.last_session.root_frame(), {}
        total, database = request_seconds(root), database_seconds(root)
        part_seconds(root, times)

    print(f"{setup_name()}: {args.requests} sync runs through POST /v1/run in one process, under pyinstrument")
    print(f"{'part of the path':<76}{'ms/request':>11}{'share':>7}")
    for part, _ in PARTS:
        print(f"{part:<76}{times.get(part, 0) * 1000 / args.requests:>11.2f}{times.get(part, 0) / total:>7.0%}")
    rest = total - sum(times.values())
    print(
        f"{'Django, DRF and middleware (routing, sessions, CSRF exemption, logs, metrics)':<76}"
        f"{rest * 1000 / args.requests:>11.2f}{rest / total:>7.0%}"
    )
    print(f"{'the whole request':<76}{total * 1000 / args.requests:>11.2f}{1:>7.0%}")
    print(
        f"{'of which the database driver ran statements and commits (the rest is Python)':<76}"
        f"{database * 1000 / args.requests:>11.2f}{database / total:>7.0%}"
    )


if __name__ == "__main__":
    main()
