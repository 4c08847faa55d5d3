"""How cheaply a hostile input is refused, next to what admitting a valid run costs: POST /v1/run, side by side.

On a fresh database of DATABASE_URL's kind (SQLite when unset), with production settings, sends through the whole
Django stack in this process (the test client, as bench/sync_profile.py does) requests of each kind below in turn,
--rounds times, and prints each kind's median and p95 and its median over that of a valid run's admission with a
test key (the cheapest admission: no hold, no spend control). No provider is called: the runs are the tweet
scraper's, which is async, and no worker runs. The access lines are written as in production, to a file.

- a valid run, admitted with a test key (202), and with a funded live key (202, its hold taken);
- the 2.5 MB hostile input: 600,000 empty search terms, a body no endpoint's input fits (413, never parsed);
- a body just under the largest body read, whose input is twice the endpoint's bound (413 once parsed);
- an input within the bound failing its schema everywhere (400, the first 20 failures);
- an input nested more than 32 deep (400).

    make bench-validation
    make bench-validation ARGS="--rounds 500"
"""

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import bench_database, setup_name  # noqa: E402

TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper"}
LIMIT = 3.0  # a hostile input is refused in at most this many times a valid admission


def deep(levels: int) -> list:
    value = []
    for _ in range(levels):
        value = [value]
    return value


def kinds(body_max: int) -> dict[str, tuple[str, str, int]]:
    """Each kind of request: (which key sends it, its body, the status it must get)."""
    body = lambda data: json.dumps({**TWEETS, "input": data})  # noqa: E731
    padding = body({"searchTerms": ["AI"], "padding": ""})
    return {
        "valid run, test key": ("test", body({"searchTerms": ["AI"], "maxItems": 10}), 202),
        "valid run, live key (hold)": ("live", body({"searchTerms": ["AI"], "maxItems": 10}), 202),
        "2.5 MB hostile input": ("live", body({"searchTerms": [""] * 600_000}), 413),
        "body just under what is read": (
            "live",
            body({"searchTerms": ["AI"], "padding": [""] * ((body_max - len(padding)) // 4)}),
            413,
        ),
        "at the bound, failing everywhere": ("live", body({"searchTerms": [""] * 20_000, "sort": "x" * 3_000}), 400),
        "nested 40 deep": ("live", body({"searchTerms": ["AI"], "deep": deep(40)}), 400),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind, taken in turn")
    args = parser.parse_args()
    # A live run of Apify needs a token configured to be admitted; no worker runs, so it never reaches Apify.
    os.environ.update(
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="testserver",
        MONID_RATE_LIMIT_PER_MINUTE="100000000",
        APIFY_TOKEN="sandbox-apify-token",
        APIFY_API_BASE_URL="http://127.0.0.1:9",
    )

    with bench_database("monid-bench-validation-") as (_, workdir):
        from django.test import Client

        from billing.accounts import workspace_get_or_create
        from billing.api_keys import api_key_create
        from billing.services import wallet_credit
        from providers.queries import endpoints_largest_input
        from runs.api import BODY_ENVELOPE_BYTES, BODY_SPACING_FACTOR

        logging.getLogger().handlers[0].setStream(open(workdir / "access.log", "w"))
        workspace = workspace_get_or_create(slug="bench", name="Bench")
        wallet_credit(workspace=workspace, amount_micros=10**12, note="bench funds")
        keys = {
            "live": api_key_create(workspace=workspace, label="bench")[1],
            "test": api_key_create(workspace=workspace, label="bench-test", mode="test")[1],
        }
        client = Client()
        requests = kinds(BODY_SPACING_FACTOR * endpoints_largest_input() + BODY_ENVELOPE_BYTES)

        def send(key: str, data: str, status: int) -> float:
            began = time.perf_counter()
            response = client.post(
                "/v1/run", data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {keys[key]}"
            )
            seconds = time.perf_counter() - began
            if response.status_code != status:
                raise SystemExit(f"answered {response.status_code}, not {status}: {response.content[:300]!r}")
            return seconds * 1000

        for _ in range(20):  # connections, caches, the validators
            for request in requests.values():
                send(*request)
        times = {name: [] for name in requests}
        for _ in range(args.rounds):
            for name, request in requests.items():
                times[name].append(send(*request))

    baseline = statistics.median(times["valid run, test key"])
    print(f"{setup_name()}: POST /v1/run through the Django stack in one process, {args.rounds} of each kind in turn")
    print(f"{'request':<34}{'body':>12}{'p50 ms':>9}{'p95 ms':>9}{'x valid':>9}")
    for name, (_, data, _) in requests.items():
        ordered = sorted(times[name])
        p50, p95 = statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]
        print(f"{name:<34}{len(data):>12,}{p50:>9.2f}{p95:>9.2f}{p50 / baseline:>9.2f}")
    ratio = statistics.median(times["2.5 MB hostile input"]) / baseline
    print(
        f"{'OK' if ratio <= LIMIT else 'TOO SLOW'}: the 2.5 MB hostile input is refused in {ratio:.2f} x a valid "
        f"run's admission (at most {LIMIT:g} x)"
    )
    if ratio > LIMIT:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
