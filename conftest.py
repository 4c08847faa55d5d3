"""Shared fixtures: real emulators on loopback, a small catalog, named people and their keys."""

import ipaddress
import os
import socket
import threading
from pydoc import locate

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create
from billing.models import ApiKey
from billing.services import wallet_credit
from providers.emulators import apify, pdl, server
from providers.engine import protocol_for
from providers.models import Endpoint, EndpointHealthSample
from providers.services import catalog_seed
from runs.models import Run
from runs.services import runs_dispatch, runs_settle_all

APIFY_TOKEN, PDL_KEY = apify.DEFAULT_TOKEN, pdl.DEFAULT_API_KEY
_real_connect = socket.socket.connect


def _loopback_only_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost"
        if not loopback:
            raise AssertionError(f"A test tried to reach {address}; tests may only talk to loopback.")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


@pytest.fixture(autouse=True)
def backoff_waits(monkeypatch):
    """Retry backoff is recorded, not slept: tests never depend on time passing."""
    from providers.engine import transport as base

    waits = []
    monkeypatch.setattr(base, "_sleep", waits.append)
    return waits


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters, API keys and endpoints are kept in caches (Redis, the database's cache table, this
    process's memory), which outlive a test's transaction."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        from django.core.cache import cache

        from providers.credentials import credentials_cache_clear
        from providers.queries import endpoint_cache_clear

        if "db" in request.fixturenames:
            request.getfixturevalue("db")  # a fixture that needs it may come after this one
        cache.clear()
        endpoint_cache_clear()  # a test's catalog is rolled back with it
        credentials_cache_clear()  # and so are its credentials


@pytest.fixture(scope="session")
def emulators():
    with server.start() as emu:
        yield emu


@pytest.fixture(autouse=True)
def _providers_point_at_emulators(settings, emulators):
    """Live keys reach the emulators too, configured exactly as a real deployment would be."""
    settings.APIFY_API_BASE_URL = f"{emulators.url}/apify"
    settings.APIFY_TOKEN = APIFY_TOKEN
    settings.PDL_API_BASE_URL = f"{emulators.url}/pdl"
    settings.PDL_API_KEY = PDL_KEY


@pytest.fixture
def silent_server():
    """Accepts connections and never answers, like a provider that hangs."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


@pytest.fixture
def catalog(db):
    catalog_seed()


@pytest.fixture
def protocol(catalog):
    """A catalog endpoint's live protocol (pointed at the emulators), after these changes to its row."""

    def of(provider, path, **changes):
        Endpoint.objects.filter(provider__slug=provider, path=path).update(**changes)
        return protocol_for(
            Endpoint.objects.select_related("provider").get(provider__slug=provider, path=path), sandbox=False
        )

    return of


@pytest.fixture
def tweets_per_call(catalog):
    """The tweet scraper priced $0.003 a call, as an operator may price it: for tests of controls, faults and
    workers, whose arithmetic is one price a run (the usage models have tests of their own)."""
    Endpoint.objects.filter(path="/apidojo/tweet-scraper").update(price_type="PER_CALL", price_micros=3000)


@pytest.fixture
def tweets(protocol):
    return protocol("apify", "/apidojo/tweet-scraper")


def health_sample(path, at, state="healthy", *, counted=20, successes=20, median_ms=1200, p95_ms=4000):
    """A health sampling's row for the endpoint at `path`, as runs.health would write it at `at`."""
    return EndpointHealthSample.objects.create(
        endpoint=Endpoint.objects.get(path=path),
        at=at,
        state=state,
        counted=counted,
        successes=successes,
        median_ms=median_ms,
        p95_ms=p95_ms,
    )


@pytest.fixture
def tweets_in_outage(catalog):
    """The tweet scraper in outage by its newest sampling (none of its last 20 runs succeeded), so discovery ranks
    it last and leaves it out unless asked."""
    return health_sample("/apidojo/tweet-scraper", timezone.now(), "outage", successes=0, median_ms=700, p95_ms=900)


@pytest.fixture
def apify_started(emulators):
    """The emulator's runs of the tweet scraper started since a time: (id, input) pairs, oldest first."""

    def since(when):
        auth = {"Authorization": f"Bearer {APIFY_TOKEN}"}
        runs = requests.get(
            f"{emulators.url}/apify/v2/acts/apidojo~tweet-scraper/runs",
            headers=auth,
            timeout=10,
            params={"startedAfter": when.isoformat()},
        ).json()["data"]["items"]
        return [
            (
                run["id"],
                requests.get(
                    f"{emulators.url}/apify/v2/actor-runs/{run['id']}/key-value-store/records/INPUT",
                    headers=auth,
                    timeout=10,
                ).json(),
            )
            for run in runs
        ]

    return since


@pytest.fixture
def operator(db):
    return get_user_model().objects.create_user("olivia", password="operator-pass-1", is_staff=True)


def _customer(username, slug):
    user = get_user_model().objects.create_user(username, password=f"{username}-pass-1")
    workspace = workspace_get_or_create(slug=slug, name=slug.title())
    workspace.members.add(user)
    return user


@pytest.fixture
def alice(db):
    """A customer in workspace 'acme'."""
    return _customer("alice", "acme")


@pytest.fixture
def bob(db):
    """A customer in another workspace, 'globex'."""
    return _customer("bob", "globex")


FUNDS_MICROS = 100_000_000  # what a live key's workspace starts with in the tests: $100


def _live_key(user, label):
    """A live key with every scope, as the owner's own key, its workspace's wallet credited so its runs are
    admitted."""
    workspace = user.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=FUNDS_MICROS, note="test funds")
    return api_key_create(workspace=workspace, label=label, mode="live", scopes=ApiKey.SCOPES, created_by=user)[1]


@pytest.fixture
def alice_key(alice, catalog):
    return _live_key(alice, "alice-live")


@pytest.fixture
def alice_test_key(alice, catalog):
    return api_key_create(workspace=alice.workspaces.get(), label="alice-test", mode="test", created_by=alice)[1]


@pytest.fixture
def bob_key(bob, catalog):
    return _live_key(bob, "bob-live")


@pytest.fixture
def task_queue(db):
    """The django-q2 broker, emptied first; `.run()` executes what was queued, as a worker would."""
    broker = get_broker()
    broker.purge_queue()

    class Queue:
        def size(self):
            return broker.queue_size()

        def purge(self):
            """Loses what is queued, as a crashed worker loses the task it held."""
            broker.purge_queue()

        def run_one(self):
            """Executes the tasks of one dequeue (the broker hands out one at a time); returns how many. With
            nothing queued, the runs due now (new ones) are dispatched first, as the dispatcher would."""
            if not broker.queue_size():
                runs_dispatch()
            ran = 0
            for ack_id, payload in broker.dequeue() or []:
                task = SignedPackage.loads(payload)
                func = task["func"] if callable(task["func"]) else locate(task["func"])
                func(*task["args"], **task["kwargs"])
                broker.acknowledge(ack_id)
                ran += 1
            return ran

        def run(self, checks=10):
            """Dispatches the new runs and executes tasks until none is queued. Then, while runs wait for a later
            status check, skips the wait (their check is made due now) and dispatches them, as the dispatcher
            would, at most `checks` times: a run that never ends at the provider stays RUNNING. Last, it settles
            the runs that ended, as the dispatcher would."""
            ran = 0
            runs_dispatch()  # the new runs
            while True:
                while broker.queue_size():
                    ran += self.run_one()
                if not checks or not Run.objects.filter(next_step_at__isnull=False).update(next_step_at=timezone.now()):
                    runs_settle_all()
                    return ran
                runs_dispatch()
                checks -= 1

    return Queue()


@pytest.fixture
def worker(task_queue):
    """Executes queued tasks in the background until the test ends, with its own database connection, as `make
    run`'s worker would: for clients in other processes, which wait on async runs through a live server."""
    done = threading.Event()

    def work():
        try:
            while not done.is_set():
                task_queue.run()
                done.wait(0.1)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    done.set()
    thread.join()


CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own browser download cannot reach the internet here
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
]
NO_CHROMIUM = f"{CHROMIUM} is missing: the browser tests did not run. Install it with `make test-deps` (as root)."


def _uses_browser(item):
    return "browser" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """Without Chromium the browser tests cannot run; they are skipped, and the summary says so loudly."""
    if not os.path.exists(CHROMIUM):
        for item in filter(_uses_browser, items):
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


def pytest_terminal_summary(terminalreporter):
    if not os.path.exists(CHROMIUM) and any(map(_uses_browser, terminalreporter.stats.get("skipped", []))):
        terminalreporter.write_sep("!", NO_CHROMIUM, red=True, bold=True)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright. Playwright's sync API keeps an event loop running in this thread,
    which Django would otherwise take for async code and refuse to query the database from."""
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser tab on the live server, whose clipboard the page may use; it fails the test if a page
    breaks the Content-Security-Policy or throws a script error."""
    context = browser.new_context(base_url=live_server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    problems = []
    tab.on("console", lambda message: message.type == "error" and problems.append(message.text))
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    context.close()
    assert not problems, f"the page reported errors: {problems}"


@pytest.fixture
def sign_in(page):
    """Signs a person in through the real login form."""

    def sign_in(username, password):
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("main form button[type=submit]")
        page.wait_for_selector("form.who")

    return sign_in


@pytest.fixture
def new_key_copied(page):
    """Makes a test key on the keys page as a signed-in member would, copies it with the page's button and returns
    what the clipboard got."""
    from playwright.sync_api import expect

    def new_key_copied(label):
        page.goto("/keys/")
        page.fill("#id_label", label)
        page.check("input[name=mode][value=test]")
        page.click("form.card button[type=submit]")
        page.click("#copy-key")
        expect(page.locator("#copy-key")).to_have_text("Copied")
        return page.evaluate("navigator.clipboard.readText()")

    return new_key_copied


def catalog_examples() -> list[tuple[str, str, dict]]:
    """(provider, endpoint path, its input schema's first example) for every bundled endpoint."""
    from providers.engine.loader import connectors_load

    return [
        (connector.provider["slug"], spec["path"], spec["input_schema"]["examples"][0])
        for connector in connectors_load()
        for spec in connector.endpoints
    ]
