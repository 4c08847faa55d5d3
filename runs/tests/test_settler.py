"""The settler: every ended run settled exactly once, whoever settles it and whatever dies meanwhile, and the
wallet equal to its ledger once it has caught up."""

import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Count, Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bench.harness import BASE_DIR, database_url
from billing.api_keys import api_key_create
from billing.models import KeyDailyCost, LedgerEntry, Wallet
from billing.services import wallet_credit
from runs.models import Run
from runs.services import runs_settle, runs_settle_all
from runs.tests.api import post_run

PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
PDL_NO_MATCH = {**PDL_MATCH, "input": {"email": "nomatch@example.com"}}
FUNDS = 100_000_000  # conftest credits each live key's workspace with $100


def ended_runs(client, keys, count):
    """`count` sync runs through the API, spread over `keys`, one in four a provider 404 (uncharged)."""
    for i in range(count):
        response = post_run(client, keys[i % len(keys)], PDL_NO_MATCH if i % 4 == 3 else PDL_MATCH)
        assert response.status_code == 200, response.content


def assert_settled_exactly_once():
    """Each run: settled, one release of its whole hold, one charge of its reported cost (none when it is 0), one
    count on its key's rollup; and each wallet equal to its ledger, nothing held."""
    runs = list(Run.objects.values_list("pk", "settled_at", "held_micros", "reported_cost_micros"))
    assert runs and all(settled_at for _, settled_at, _, _ in runs)
    entries = {
        (run_id, kind): (count, total)
        for run_id, kind, count, total in LedgerEntry.objects.exclude(kind="credit")
        .values_list("run_id", "kind")
        .annotate(count=Count("pk"), total=Sum("amount_micros"))
    }
    for run_id, _, held, reported in runs:
        assert entries[(run_id, "hold")] == entries[(run_id, "release")] == (1, held)
        assert entries.get((run_id, "charge")) == ((1, reported) if reported else None)
    assert KeyDailyCost.objects.aggregate(runs=Sum("run_count"))["runs"] == len(runs)
    for wallet in Wallet.objects.all():
        ledger = dict(
            LedgerEntry.objects.filter(workspace_id=wallet.workspace_id)
            .values_list("kind")
            .annotate(total=Sum("amount_micros"))
        )
        assert wallet.balance_micros == ledger.get("credit", 0) - ledger.get("charge", 0)
        assert wallet.held_micros == ledger.get("hold", 0) - ledger.get("release", 0) == 0


def test_a_batch_settles_each_workspace_with_one_wallet_update_and_one_ledger_insert(client, alice_key, bob_key):
    ended_runs(client, [alice_key, bob_key], 12)
    with CaptureQueriesContext(connection) as statements:
        assert runs_settle() == 12
    sql = [statement["sql"] for statement in statements]
    assert sum(s.startswith('UPDATE "billing_wallet"') for s in sql) == 2
    assert sum(s.startswith('INSERT INTO "billing_ledgerentry"') for s in sql) == 1
    assert_settled_exactly_once()
    assert Wallet.objects.get(workspace__slug="acme").balance_micros == FUNDS - 6 * 3_000  # its six runs matched


def test_a_batch_is_at_most_its_limit_and_the_oldest_end_goes_first(client, alice_key):
    ended_runs(client, [alice_key], 3)
    oldest = Run.objects.order_by("completed_at").first().pk
    assert runs_settle(limit=1) == 1 and Run.objects.get(settled_at__isnull=False).pk == oldest
    assert runs_settle_all() == 2 and runs_settle() == 0


@pytest.mark.django_db(transaction=True)
def test_settlers_at_once_settle_each_run_once(alice, bob, catalog):
    keys = []
    for user in (alice, bob):
        workspace = user.workspaces.get()
        wallet_credit(workspace=workspace, amount_micros=FUNDS, note="funds")
        keys.append(api_key_create(workspace=workspace, label=f"{user.username}-live", mode="live")[1])
    ended_runs(Client(), keys, 40)
    start = threading.Barrier(4)

    def settle(_):
        start.wait()
        try:
            return sum(runs_settle(limit=3) for _ in range(10))
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        settled = sum(pool.map(settle, range(4)))
    assert settled + runs_settle_all() == 40
    assert_settled_exactly_once()


@pytest.mark.django_db(transaction=True)
def test_a_settler_killed_in_its_transaction_settles_nothing_and_the_next_one_settles_all_once(alice, catalog):
    workspace = alice.workspaces.get()
    wallet_credit(workspace=workspace, amount_micros=FUNDS, note="funds")
    key = api_key_create(workspace=workspace, label="alice-live", mode="live")[1]
    ended_runs(Client(), [key], 8)
    # Another process settles, and is SIGKILLed once its batch is written and not yet committed.
    script = (
        "import sys, time; from billing import services as billing; from runs import services; "
        "record = billing.settlements_record; "
        "services.settlements_record = lambda batch: (record(batch), print('written', flush=True), "
        "time.sleep(600)); services.runs_settle()"
    )
    env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict)}
    settler = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=BASE_DIR, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "written" in (line.strip() for line in settler.stdout)  # read up to it, past the shell's banner
    finally:
        settler.send_signal(signal.SIGKILL)
        settler.wait(timeout=60)
    assert not Run.objects.filter(settled_at__isnull=False).exists()
    assert not LedgerEntry.objects.filter(kind="release").exists() and not KeyDailyCost.objects.exists()
    assert runs_settle_all() == 8
    assert_settled_exactly_once()
