"""Fixtures of the client's tests: a client on the live server whose waiting plays the workers instead of
sleeping, a fake clock, and a loopback proxy that misbehaves on cue."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create

from monid import Monid

PDL_MATCH = ("pdl", "/person/enrich", {"email": "sean@example.com"})
PDL_NO_MATCH = ("pdl", "/person/enrich", {"email": "nomatch@example.com"})
TWEETS = ("apify", "/apidojo/tweet-scraper", {"searchTerms": ["AI"], "maxItems": 3})
SLOW_TWEETS = ("apify", "/apidojo/tweet-scraper", {"searchTerms": ["emulator:slow"]})


class FakeTime:
    """A monotonic clock that only `sleep` moves; each sleep is recorded, then `on_sleep` runs (the workers)."""

    def __init__(self):
        self.now, self.sleeps, self.on_sleep = 1000.0, [], None

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))

    def clock(self):
        return self.now


@pytest.fixture(autouse=True)
def config_home(monkeypatch, tmp_path):
    """A config folder of each test's own, so that no test reads or writes the keys in the developer's own
    ~/.config/monid; the folder where `monid keys` keeps them."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "monid"


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def connect(live_server, fake_time):
    """Makes clients of the live server that never really sleep; closes them after the test."""
    clients = []

    def connect(api_key, base_url=None, **kwargs):
        client = Monid(
            api_key=api_key,
            base_url=base_url or live_server.url,
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            **kwargs,
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def monid(connect, alice_test_key, fake_time, task_queue):
    """Alice's test-key client; each time it would sleep while waiting, the workers run instead."""
    fake_time.on_sleep = lambda count: task_queue.run()
    yield connect(alice_test_key)
    task_queue.purge()  # what a test left queued must not reach the next one (a Redis broker outlives the test)


@pytest.fixture
def empty_wallet_key(catalog):
    """A live key of a new workspace whose wallet was never credited."""
    return api_key_create(workspace=workspace_get_or_create(slug="skint"), label="skint-live", mode="live")[1]


class FlakyProxy:
    """Forwards requests to the live server. Each request takes the next step of `plan`: "drop" forwards it,
    reads the whole answer, then closes the connection without a byte back (the answer lost on the way);
    "503" answers 503 without forwarding; with the plan used up, requests are forwarded faithfully."""

    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}

    def __init__(self, upstream):
        self.upstream, self.plan, self.seen = upstream, [], []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                proxy.handle(self)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def handle(self, request):
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        self.seen.append(
            {"method": request.command, "path": request.path, "idempotency_key": request.headers.get("Idempotency-Key")}
        )
        step = self.plan.pop(0) if self.plan else "forward"
        request.close_connection = True
        if step == "503":
            return self.answer(request, 503, {}, json.dumps({"code": 503, "message": "proxy overloaded"}).encode())
        headers = {name: value for name, value in request.headers.items() if name.lower() not in self.HOP_BY_HOP}
        answer = requests.request(request.command, self.upstream + request.path, data=body, headers=headers, timeout=30)
        if step == "drop":
            return
        self.answer(request, answer.status_code, answer.headers, answer.content)

    def answer(self, request, status, headers, content):
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in self.HOP_BY_HOP | {"content-type"}:
                request.send_header(name, value)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)


@pytest.fixture
def flaky_proxy(live_server):
    proxy = FlakyProxy(live_server.url)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()
    thread.join()
