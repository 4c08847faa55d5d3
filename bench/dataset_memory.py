"""How much memory a worker needs to read an Apify dataset up to the output cap, whatever the size of its items.

For each case, COUNTxBYTES@CAP, it starts an actor run on the Apify emulator (in this process, on loopback) whose
dataset is COUNT generated items of BYTES bytes of JSON (`emulator:items-COUNTxBYTES`), then has a fresh Python
process read it as a worker does (`ApifyActorProtocol.collect` over HTTP, CAP standing for MONID_OUTPUT_MAX_BYTES).
That process measures its resident memory just before the read and its peak after it, so the growth is the read's
alone: the emulator, which makes the items, lives in this process. It prints, side by side, the items kept, the
growth of the peak, its ratio to the cap, the dataset reads made and the most body bytes any of them held.

    make bench-memory
    make bench-memory ARGS="--case 1000x50000@10000000 --case 3x12000000@10000000"
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import memory_kb  # noqa: E402
from providers.emulators import apify, server  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
CASES = ("100x400000@10000000", "5x10000000@10000000", "5x10000000@25000000", "10000x5000@10000000")


def dataset_of(emulators_url: str, *, count: int, size: int) -> str:
    """The id of a finished run's dataset of `count` generated items of `size` bytes of compact JSON each."""
    response = requests.post(
        f"{emulators_url}/apify/v2/acts/apidojo~tweet-scraper/runs",
        timeout=30,
        params={"waitForFinish": 1},
        json={"searchTerms": [f"emulator:items-{count}x{size}"]},
        headers={"Authorization": f"Bearer {apify.DEFAULT_TOKEN}"},
    )
    response.raise_for_status()
    return response.json()["data"]["defaultDatasetId"]


def measured_read(emulators_url: str, *, dataset_id: str, cap: int) -> dict:
    """What a fresh process reading the dataset up to `cap` bytes kept, and its memory (see `_read`)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "monid_site.settings", "DJANGO_SECURE_SSL_REDIRECT": "0"}
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # production settings want one
    done = subprocess.run(
        [sys.executable, __file__, "--read", emulators_url, dataset_id, str(cap)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode:
        raise RuntimeError(f"the reading process failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def recorded_reads(transport) -> list[dict]:
    """The dataset reads `transport` answers from now on, each as it is made: its `offset` and `limit`, the
    `max_bytes` asked for, the body bytes read and whether the body was cut."""
    reads, request = [], transport.request

    def recorded(method, path, **kwargs):
        reply = request(method, path, **kwargs)
        if "/datasets/" in path:
            reads.append(
                {
                    "offset": kwargs["params"]["offset"],
                    "limit": kwargs["params"]["limit"],
                    "max_bytes": kwargs["max_bytes"],
                    "read": reply.size,
                    "cut": reply.cut,
                }
            )
        return reply

    transport.request = recorded
    return reads


def _read(emulators_url: str, dataset_id: str, cap: int) -> dict:
    """In the fresh process: the dataset read up to `cap`, with every dataset request the transport answered
    (its `offset` and `limit`, the `max_bytes` asked for, the body bytes read and whether it was cut) and this
    process's resident memory, in bytes, just before the read and at its peak."""
    import django

    django.setup()
    from providers.engine import ProviderProgress
    from providers.engine.apify import ApifyActorProtocol
    from providers.engine.transport import HttpTransport

    transport = HttpTransport(
        slug="apify",
        name="Apify",
        base_url=f"{emulators_url}/apify",
        auth={"scheme": "bearer"},
        credential=apify.DEFAULT_TOKEN,
    )
    protocol = ApifyActorProtocol(endpoint=SimpleNamespace(path="/apidojo/tweet-scraper"), transport=transport)
    # A first request, so the connection pool and whatever else the first call sets up count as the baseline.
    transport.request("GET", f"/v2/datasets/{dataset_id}/items", params={"limit": 0})
    reads = recorded_reads(transport)
    finished = ProviderProgress(run_id="", state=ProviderProgress.FINISHED, handle=("SUCCEEDED", "", dataset_id))
    before = memory_kb(os.getpid(), "VmRSS") * 1024
    answer = protocol.collect(finished, max_bytes=cap)
    peak = memory_kb(os.getpid(), "VmHWM") * 1024
    return {
        "kept": answer.result_count,
        "truncated": answer.output_truncated,
        "indices": [item["index"] for item in answer.output],
        "kept_bytes": len(json.dumps(answer.output, separators=(",", ":")).encode()),
        "rss_before": before,
        "rss_peak": peak,
        "growth": peak - before,
        "reads": reads,
    }


def case_of(text: str) -> tuple[int, int, int]:
    """COUNTxBYTES@CAP as three integers."""
    dataset, cap = text.split("@")
    count, size = dataset.split("x")
    return int(count), int(size), int(cap)


def main():
    if sys.argv[1:2] == ["--read"]:
        url, dataset_id, cap = sys.argv[2:5]
        print(json.dumps(_read(url, dataset_id, int(cap))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        action="append",
        metavar="COUNTxBYTES@CAP",
        help=f"a dataset and the cap it is read with; repeatable (default: {' '.join(CASES)})",
    )
    args = parser.parse_args()
    print(
        f"{'dataset':>22} {'cap':>8} {'kept':>6} {'kept MB':>8} {'truncated':>9} {'peak RSS growth':>16} "
        f"{'growth/cap':>10} {'reads':>5} {'largest read':>12}"
    )
    with server.start() as emulators:
        for case in args.case or CASES:
            count, size, cap = case_of(case)
            result = measured_read(emulators.url, dataset_id=dataset_of(emulators.url, count=count, size=size), cap=cap)
            largest = max((read["read"] for read in result["reads"]), default=0)
            growth, kept = f"{result['growth'] / 1e6:.1f} MB", f"{result['kept_bytes'] / 1e6:.1f}"
            print(
                f"{f'{count} x {size / 1e6:g} MB':>22} {f'{cap / 1e6:g} MB':>8} {result['kept']:>6} {kept:>8} "
                f"{str(result['truncated']):>9} {growth:>16} {result['growth'] / cap:>10.2f} "
                f"{len(result['reads']):>5} {f'{largest / 1e6:.1f} MB':>12}",
                flush=True,
            )


if __name__ == "__main__":
    main()
