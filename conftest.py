"""Shared fixtures: real emulators on loopback, a small catalog, named people and their keys."""

import ipaddress
import socket
from pydoc import locate

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from billing.services import api_key_create, wallet_credit, workspace_get_or_create
from providers.adapters import SANDBOX_CREDENTIALS
from providers.emulators import server
from providers.services import catalog_seed
from runs.models import Run
from runs.services import runs_dispatch

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
    from providers.adapters import base

    waits = []
    monkeypatch.setattr(base, "_sleep", waits.append)
    return waits


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Rate-limit counters live in the cache (a database table or Redis), which outlives a test's transaction."""
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        from django.core.cache import cache
        cache.clear()


@pytest.fixture(scope="session")
def emulators():
    with server.start(pdl_key=SANDBOX_CREDENTIALS["pdl"], apify_token=SANDBOX_CREDENTIALS["apify"]) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _providers_point_at_emulators(settings, emulators):
    """Live keys reach the emulators too, configured exactly as a real deployment would be."""
    settings.APIFY_API_BASE_URL = f"{emulators.url}/apify"
    settings.APIFY_TOKEN = SANDBOX_CREDENTIALS["apify"]
    settings.PDL_API_BASE_URL = f"{emulators.url}/pdl"
    settings.PDL_API_KEY = SANDBOX_CREDENTIALS["pdl"]
    settings.MONID_SANDBOX_URL = emulators.url


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
    """A live key, its workspace's wallet credited so its runs are admitted."""
    workspace = user.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=FUNDS_MICROS, note="test funds")
    return api_key_create(workspace=workspace, label=label, mode="live")[1]


@pytest.fixture
def alice_key(alice, catalog):
    return _live_key(alice, "alice-live")


@pytest.fixture
def alice_test_key(alice, catalog):
    return api_key_create(workspace=alice.workspaces.get(), label="alice-test", mode="test")[1]


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
            would, at most `checks` times: a run that never ends at the provider stays RUNNING."""
            ran = 0
            runs_dispatch()  # the new runs
            while True:
                while broker.queue_size():
                    ran += self.run_one()
                if not checks or not Run.objects.filter(next_step_at__isnull=False).update(next_step_at=timezone.now()):
                    return ran
                runs_dispatch()
                checks -= 1

    return Queue()


CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's, installed by `make test`); flags keep it off the network it does not have."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(browser, css, seconds=10):
    """A click that navigates returns before the next page is there; wait for what that page should show."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(browser, seconds).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


@pytest.fixture
def signed_in(browser, live_server):
    """Signs a person in through the real login form and returns a function that opens a dashboard path."""
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()

    def sign_in(username, password):
        browser.get(f"{live_server.url}/login/")
        browser.find_element(By.NAME, "username").send_keys(username)
        browser.find_element(By.NAME, "password").send_keys(password)
        browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_for(browser, "form.who")
        return lambda path: browser.get(f"{live_server.url}{path}")

    return sign_in
