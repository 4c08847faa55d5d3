"""A worker reading a dataset holds the items it keeps and one bounded read, whatever the items' sizes: against the
Apify emulator over loopback HTTP, with the big reads measured in a fresh process of their own."""

import http.server
import json
import threading

import pytest

from bench.dataset_memory import dataset_of, measured_read, recorded_reads
from providers.emulators.apify import DEFAULT_TOKEN
from providers.engine import ProviderProgress
from providers.engine import apify as apify_module
from providers.engine.transport import READ_CHUNK_BYTES, HttpTransport, leading_elements

CAP = 10_000_000  # MONID_OUTPUT_MAX_BYTES's default


def read_budgets_hold(reads, *, item_bytes):
    """Each read asked for no more than the budget left before it plus the slack, and stopped within a chunk of
    what it asked for (items of `item_bytes` each, all kept before it: offset says how many)."""
    return all(
        read["max_bytes"] <= CAP - 1 - read["offset"] * (item_bytes + 1) + apify_module.DATASET_SLACK_BYTES
        and read["read"] <= read["max_bytes"] + READ_CHUNK_BYTES
        for read in reads
    )


def test_100_items_of_400_kb_keep_the_first_24_and_grow_memory_by_little_more_than_them(emulators):
    read = measured_read(emulators.url, dataset_id=dataset_of(emulators.url, count=100, size=400_000), cap=CAP)
    figures = (
        f"peak RSS {read['rss_peak'] / 1e6:.1f} MB, {read['growth'] / 1e6:.1f} MB over the "
        f"{read['rss_before'] / 1e6:.1f} MB before the read, for {read['kept_bytes'] / 1e6:.1f} MB kept; "
        f"reads {[(r['offset'], r['limit'], r['read']) for r in read['reads']]}"
    )
    print(figures)
    assert (read["kept"], read["truncated"], read["indices"]) == (24, True, list(range(24)))
    assert read_budgets_hold(read["reads"], item_bytes=400_000), figures
    assert read["growth"] < 2 * CAP, figures  # parsing the first page whole grew it by 119 MB


def test_one_item_bigger_than_the_cap_is_never_read_whole(emulators):
    read = measured_read(emulators.url, dataset_id=dataset_of(emulators.url, count=1, size=12_000_000), cap=CAP)
    figures = f"{read['growth'] / 1e6:.1f} MB of peak RSS growth; reads {read['reads']}"
    print(figures)
    assert (read["kept"], read["truncated"]) == (0, True)
    assert read_budgets_hold(read["reads"], item_bytes=12_000_000), figures
    assert max(r["read"] for r in read["reads"]) < 12_000_000, figures


def test_items_bigger_than_a_page_are_read_one_at_a_time_until_one_cannot_fit(tweets):
    reads = recorded_reads(tweets.transport)
    answer = collected(tweets, "emulator:items-4x3000000", max_bytes=7_000_000)
    assert (answer.result_count, answer.output_truncated) == (2, True)
    assert [item["index"] for item in answer.output] == [0, 1]
    # 100 items asked for, cut before the first arrived whole; then one at a time, the last cut as well.
    assert [(r["offset"], r["limit"], r["cut"]) for r in reads] == [
        (0, 100, True),
        (0, 1, False),
        (1, 1, False),
        (2, 1, True),
    ]
    assert reads[-1]["read"] < 3_000_000


def test_a_read_cut_short_keeps_the_items_that_arrived_whole_and_goes_on_from_there(tweets, monkeypatch):
    monkeypatch.setattr(apify_module, "DATASET_PAGE_BYTES", 200_000)
    monkeypatch.setattr(apify_module, "DATASET_SLACK_BYTES", 1000)
    reads = recorded_reads(tweets.transport)
    answer = collected(tweets, "emulator:items-30x50000", max_bytes=CAP)
    assert (answer.result_count, answer.output_truncated) == (30, False)
    assert [item["index"] for item in answer.output] == list(range(30))
    assert reads[0]["cut"] and 3 <= reads[1]["offset"] <= 5  # 201 kB and a chunk hold 3 to 5 whole items
    assert all(r["read"] <= 201_000 + READ_CHUNK_BYTES for r in reads)


def test_a_bounded_read_stops_within_a_chunk_and_its_body_is_the_items_that_arrived_whole(emulators):
    dataset_id = dataset_of(emulators.url, count=50, size=2000)
    transport = HttpTransport(
        slug="apify",
        name="Apify",
        base_url=f"{emulators.url}/apify",
        auth={"scheme": "bearer"},
        credential=DEFAULT_TOKEN,
    )
    whole = transport.request("GET", f"/v2/datasets/{dataset_id}/items", max_bytes=10**6)
    cut = transport.request("GET", f"/v2/datasets/{dataset_id}/items", max_bytes=10_000)
    assert (whole.cut, len(whole.body), whole.size) == (False, 50, 2 + 50 * 2000 + 49)
    assert cut.cut and 10_000 < cut.size <= 10_000 + READ_CHUNK_BYTES
    assert cut.body == whole.body[: len(cut.body)] and len(cut.body) == (cut.size - 1) // 2001


@pytest.fixture
def cut_in_a_character():
    """Answers a JSON array whose first chunk ends inside the two bytes of an "é"."""
    first = json.dumps("a" * (READ_CHUNK_BYTES - 10))
    body = f'[{first},"{"é" * 20}"]'.encode()
    assert body[READ_CHUNK_BYTES - 1 : READ_CHUNK_BYTES + 1] == "é".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", json.loads(first)
    server.shutdown()
    server.server_close()


def test_a_body_cut_inside_a_character_keeps_the_items_before_it(cut_in_a_character):
    url, first = cut_in_a_character
    transport = HttpTransport(slug="apify", name="Apify", base_url=url, auth={"scheme": "bearer"}, credential="x")
    reply = transport.request("GET", "/items", max_bytes=1000)
    assert (reply.cut, reply.size, reply.body) == (True, READ_CHUNK_BYTES, [first])


@pytest.mark.parametrize(
    "text, elements",
    [
        ('[1, {"a": [2, "]"]},', [1, {"a": [2, "]"]}]),
        ("[1, 23", [1]),  # 23 may be the start of 234
        ('[ "x" ]   ', ["x"]),
        ('["x", "y', ["x"]),
        ("  [", []),
    ],
)
def test_a_body_cut_short_gives_the_elements_that_arrived_whole(text, elements):
    assert leading_elements(text) == elements


def test_a_body_cut_short_that_is_no_array_is_not_json_we_can_read():
    with pytest.raises(ValueError):
        leading_elements('{"items": [1, 2')


def collected(tweets, magic, *, max_bytes):
    run = tweets.start(params={"searchTerms": [magic]}, units=10, hold=1_000_000)
    finished = tweets.check(run_id=run.run_id, wait_seconds=5)
    assert finished.state == ProviderProgress.FINISHED
    return tweets.collect(finished, max_bytes=max_bytes)
