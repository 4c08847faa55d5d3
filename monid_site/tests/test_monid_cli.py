"""Monid's own CLI (npm @monid-ai/cli, pinned), installed from npm and driven unchanged against a live server by
MONID_API_BASE_URL: every command an agent uses, its exit code and its --json output."""

import datetime
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests
import yaml
from django.conf import settings

from billing.api_keys import api_key_revoke
from billing.controls import spend_control_set
from billing.models import ApiKey, Workspace
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

CLI_PACKAGE, CLI_VERSION = "@monid-ai/cli", "0.1.7"
NPM_PREFIX = settings.BASE_DIR / "var" / "npm"  # project-local, like the virtualenv: `make clean` removes it
NODE_MAJOR = 20  # the CLI's package.json: "engines": {"node": ">=20"}
PDL_MATCH = ["-p", "pdl", "-e", "/person/enrich", "--query", '{"email": "sean@example.com"}']
PEOPLE_SEARCH = [
    "-p",
    "pdl",
    "-e",
    "/person/search",
    "-i",
    json.dumps({"sql": "SELECT * FROM person WHERE job_title_role='engineering'", "size": 2}),
]
TWEETS = ["-p", "apify", "-e", "/apidojo/tweet-scraper", "-i", '{"searchTerms": ["AI"], "maxItems": 3}']
NEVER_ENDS = ["-p", "apify", "-e", "/apidojo/tweet-scraper", "-i", '{"searchTerms": ["emulator:slow"]}']


def _installed_version() -> str | None:
    manifest = NPM_PREFIX / "node_modules" / CLI_PACKAGE / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="session")
def monid_cli():
    """The CLI's executable, installed once into var/npm and kept there for the next runs. Without Node.js, npm or
    the registry these tests fail, saying why: a CLI we could not run is not a CLI that works."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "These tests run Monid's CLI on Node.js 20 or newer: install nodejs and npm (`make test-deps` "
            "as root does)."
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < NODE_MAJOR:
        pytest.fail(f"Monid's CLI needs Node.js {NODE_MAJOR} or newer; this is {version}.")
    if _installed_version() != CLI_VERSION:
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(
                f"These tests install {CLI_PACKAGE}@{CLI_VERSION} with npm: install npm (`make test-deps` "
                "as root does)."
            )
        # Our own pin: npm would otherwise record ^0.1.7, and a reinstall could bring a newer CLI.
        installed = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(NPM_PREFIX),
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--loglevel=error",
                f"{CLI_PACKAGE}@{CLI_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if installed.returncode or _installed_version() != CLI_VERSION:
            pytest.fail(
                f"npm could not install {CLI_PACKAGE}@{CLI_VERSION} into {NPM_PREFIX} (exit "
                f"{installed.returncode}):\n{installed.stderr}"
            )
    return NPM_PREFIX / "node_modules" / ".bin" / "monid"


def config_read(home, name) -> dict:
    """One of the CLI's YAML files, every value as the text it wrote."""
    return yaml.load((home / ".config" / "monid" / f"{name}.yaml").read_text(), Loader=yaml.BaseLoader)


@dataclass
class Answer:
    code: int
    body: object  # the --json output, parsed; or the text printed for people
    stderr: str


@pytest.fixture
def home(tmp_path):
    """A home of the test's own, where the CLI keeps its keys ($XDG_CONFIG_HOME/monid, else ~/.config/monid). Its
    check for a newer CLI on registry.npmjs.org is marked done a moment ago, so it never reaches beyond loopback."""
    config = tmp_path / ".config" / "monid"
    config.mkdir(parents=True)
    checked = datetime.datetime.now(datetime.UTC).isoformat()
    (config / "config.yaml").write_text(
        yaml.safe_dump({"version": CLI_VERSION, "active_key": "", "last_update_check": checked})
    )
    yield tmp_path
    kept = config_read(tmp_path, "config")
    assert (kept["last_update_check"], "latest_version" in kept) == (checked, False), "the CLI checked npm"


@pytest.fixture
def monid(monid_cli, live_server, home):
    """Runs `monid <args> --json` against the live server: its exit code and what it printed, parsed (or, with
    json_output=False, the text it printed for people)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "MONID_API_BASE_URL": live_server.url,
    }

    def monid(*args, json_output=True):
        done = subprocess.run(
            [str(monid_cli), *args, *(["--json"] if json_output else [])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if not json_output:
            return Answer(done.returncode, done.stdout, done.stderr)
        try:
            return Answer(done.returncode, json.loads(done.stdout), done.stderr)
        except json.JSONDecodeError:
            pytest.fail(
                f"`monid {shlex.join(args)} --json` exited {done.returncode} printing no JSON:\n"
                f"{done.stdout}\n{done.stderr}"
            )

    return monid


@pytest.fixture
def alice_test_key_added(monid, alice_test_key):
    assert monid("keys", "add", "-k", alice_test_key, "-l", "alice-test").code == 0
    return alice_test_key


@pytest.fixture
def alice_key_added(monid, alice_key):
    assert monid("keys", "add", "-k", alice_key, "-l", "alice-live").code == 0
    return alice_key


def api(live_server, key, method, path, **kwargs):
    """The same request straight to the API, to compare with what the CLI printed."""
    return requests.request(
        method, f"{live_server.url}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30, **kwargs
    ).json()


def test_it_is_the_pinned_release_from_npm(monid_cli):
    done = subprocess.run([str(monid_cli), "--version"], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0
    assert CLI_VERSION in done.stdout


def test_keys_add_stores_the_key_in_the_tests_own_home_and_makes_it_the_active_key(monid, home, alice_test_key):
    added = monid("keys", "add", "-k", alice_test_key, "-l", "alice-test")

    assert (added.code, added.body) == (0, {})
    credentials = config_read(home, "credentials")
    assert credentials["keys"]["alice-test"]["key"] == alice_test_key
    assert config_read(home, "config")["active_key"] == "alice-test"
    assert monid("keys", "list").body == [
        {
            "label": "alice-test",
            "prefix": "monid_test",
            "active": True,
            "key": f"monid_test_{'·' * 6}{alice_test_key[-1]}",
            "added_at": credentials["keys"]["alice-test"]["added_at"],
        }
    ]


def test_our_monid_command_uses_the_key_this_cli_added(home, live_server, alice_test_key_added):
    ours = subprocess.run(
        [sys.executable, "-m", "monid", "whoami"],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "MONID_API_BASE_URL": live_server.url,
            "PYTHONPATH": str(settings.BASE_DIR / "client"),  # this checkout's client, not another installed one
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout)["user"]["userId"] == "alice"


def test_whoami_names_the_keys_maker_and_its_workspace(monid, alice_test_key_added):
    whoami = monid("whoami")

    assert whoami.code == 0
    assert whoami.body == {
        "user": {"userId": "alice", "username": "alice", "email": ""},
        "workspace": {"workspaceId": "acme", "name": "Acme", "slug": "acme"},
    }


def test_whoami_workspaces_lists_the_keys_own_workspace(monid, alice_test_key_added):
    workspaces = monid("whoami", "--workspaces")

    assert workspaces.code == 0
    assert workspaces.body == {"workspaces": [{"workspaceId": "acme", "name": "Acme", "slug": "acme"}]}


def test_discover_answers_at_most_the_limit_of_results_above_the_minimum_score(monid, alice_test_key_added):
    found = monid("discover", "-q", "twitter posts", "-l", "2", "-s", "0.1")

    assert found.code == 0
    assert found.body["query"] == "twitter posts"
    assert 1 <= found.body["count"] == len(found.body["results"]) <= 2
    assert all(result["score"] >= 0.1 for result in found.body["results"])
    best = found.body["results"][0]
    assert (best["provider"], best["endpoint"]) == ("apify", "/apidojo/tweet-scraper")
    assert found.body["hints"]["next"].startswith("monid inspect -p apify -e /apidojo/tweet-scraper")


def test_inspect_prints_what_the_api_answers(monid, alice_test_key_added, live_server):
    card = monid("inspect", "-p", "pdl", "-e", "/person/enrich")

    assert card.code == 0
    assert card.body == api(
        live_server, alice_test_key_added, "POST", "/v1/inspect", json={"provider": "pdl", "endpoint": "/person/enrich"}
    )
    assert (card.body["provider"], card.body["endpoint"], card.body["price"]["type"]) == (
        "pdl",
        "/person/enrich",
        "PER_CALL",
    )
    assert "email" in card.body["input"]["queryParams"]["properties"]


def test_inspects_hint_runs_as_given(monid, alice_test_key_added):
    hint = monid("inspect", "-p", "pdl", "-e", "/person/enrich").body["hints"]["next"]
    command = shlex.split(hint)
    assert command[:2] == ["monid", "run"] and "--query" in command

    run = monid(*command[1:])

    assert run.code == 0
    assert (run.body["status"], run.body["providerResponse"]) == ("COMPLETED", {"httpStatus": 200})
    assert list(Run.objects.get(pk=run.body["runId"]).input) == ["queryParams"]


def test_a_sync_run_prints_the_completed_run_with_its_output(monid, alice_test_key_added):
    run = monid("run", *PEOPLE_SEARCH)

    assert run.code == 0
    assert (run.body["status"], run.body["providerResponse"], run.body["testMode"]) == (
        "COMPLETED",
        {"httpStatus": 200},
        True,
    )
    assert run.body["output"]["data"] and run.body["cost"] == {"value": 0.0, "currency": "USD"}
    assert Run.objects.get(pk=run.body["runId"]).input == {"body": json.loads(PEOPLE_SEARCH[-1])}


def test_an_async_run_without_wait_prints_the_accepted_run(monid, alice_test_key_added):
    run = monid("run", *TWEETS)

    assert run.code == 0
    assert (run.body["provider"], run.body["endpoint"], run.body["status"]) == (
        "apify",
        "/apidojo/tweet-scraper",
        "RUNNING",
    )
    assert Run.objects.get(pk=run.body["runId"]).status == Run.Status.RUNNING


def test_run_wait_polls_an_async_run_until_it_completes(monid, alice_test_key_added, worker):
    run = monid("run", *TWEETS, "-w", "60")

    assert run.code == 0
    assert (run.body["status"], run.body["providerResponse"], run.body["resultCount"]) == (
        "COMPLETED",
        {"httpStatus": 200},
        3,
    )
    assert len(run.body["output"]) == 3


def test_runs_get_wait_polls_a_run_until_it_completes(monid, alice_test_key_added, worker):
    started = monid("run", *TWEETS)

    run = monid("runs", "get", "-r", started.body["runId"], "-w", "60")

    assert run.code == 0
    assert (run.body["runId"], run.body["status"], len(run.body["output"])) == (started.body["runId"], "COMPLETED", 3)


def test_runs_stop_asks_the_run_to_stop_and_a_worker_ends_it_stopped(monid, alice_test_key_added, task_queue):
    started = monid("run", *NEVER_ENDS)
    task_queue.run()  # started: its recorded provider run never ends

    stopping = monid("runs", "stop", "-r", started.body["runId"])

    assert stopping.code == 0
    assert (stopping.body["runId"], stopping.body["status"]) == (started.body["runId"], "STOPPING")
    task_queue.run()
    assert monid("runs", "get", "-r", started.body["runId"]).body["status"] == "STOPPED"


def test_runs_stop_of_a_finished_run_exits_1_with_the_conflict(monid, alice_test_key_added):
    finished = monid("run", *PDL_MATCH)

    stop = monid("runs", "stop", "-r", finished.body["runId"])

    assert stop.code == 1
    assert stop.body["error"]["code"] == "CONFLICT"
    assert "nothing to stop" in stop.body["error"]["message"]


def test_runs_list_pages_the_runs_newest_first(monid, alice_test_key_added):
    run_ids = [monid("run", *PDL_MATCH).body["runId"] for _ in range(3)]

    first = monid("runs", "list", "-l", "2")

    assert first.code == 0
    assert [run["runId"] for run in first.body["items"]] == run_ids[:0:-1]
    rest = monid("runs", "list", "-l", "2", "--cursor", first.body["cursor"])
    assert ([run["runId"] for run in rest.body["items"]], rest.body["cursor"]) == ([run_ids[0]], None)


def test_balance_prints_the_live_wallet(monid, alice_key_added):
    balance = monid("balance")

    assert balance.code == 0
    assert balance.body == {"balance": {"value": 100.0, "currency": "USD"}, "held": {"value": 0.0, "currency": "USD"}}


def test_a_live_sync_run_against_the_emulator_is_charged_and_the_balance_shows_it(monid, alice_key_added):
    run = monid("run", *PDL_MATCH)

    assert (run.code, run.body["status"], run.body["testMode"]) == (0, "COMPLETED", False)
    assert run.body["cost"] == {"value": 0.003, "currency": "USD"}  # PDL's person enrich: $0.003 a match
    assert monid("balance").body["balance"] == {"value": 99.997, "currency": "USD"}


def test_a_live_async_run_waits_for_the_emulators_tweets_and_is_charged_for_each(monid, alice_key_added, worker):
    run = monid("run", *TWEETS, "-w", "60")

    assert (run.code, run.body["status"], run.body["testMode"], len(run.body["output"])) == (0, "COMPLETED", False, 3)
    assert run.body["cost"] == {"value": 0.0012, "currency": "USD"}  # 3 tweets at $0.0004


def test_a_run_that_the_budget_refuses_prints_the_blocked_run_and_the_control_that_refused_it(monid, alice_key_added):
    acme = Workspace.objects.get(slug="acme")
    spend_control_set(workspace=acme, kind="BUDGET", period="DAY", limit_micros=1)
    spend_control_set(workspace=acme, kind="RUN_CAP", limit_micros=10**6)  # passed: not a blocking control

    run = monid("run", *TWEETS, "-w", "60")

    assert (run.code, run.body["status"], run.body["cost"]) == (0, "BLOCKED", {"value": 0.0, "currency": "USD"})
    [control] = run.body["controls"]
    assert (control["snapshot"]["type"], control["snapshot"]["limitAmount"]["value"]) == ("WORKSPACE_BUDGET", 0.000001)
    assert run.body["error"]["message"] == run.body["reason"]
    shown = monid("runs", "get", "-r", run.body["runId"], json_output=False).body
    blocking = shown.split("Blocking Controls")[1]
    assert "Workspace Budget" in blocking and "Run Cap" not in blocking


def test_resources_list_is_empty(monid, alice_test_key_added):
    resources = monid("resources", "list")

    assert resources.code == 0
    assert resources.body == {"items": [], "cursor": None}


def test_one_resource_exits_1_saying_there_are_none(monid, alice_test_key_added):
    answer = monid("resources", "get", "-r", "res_1")

    assert answer.code == 1
    assert answer.body["error"]["code"] == "NOT_FOUND"
    assert "this server provisions no resources" in answer.body["error"]["message"]


def test_a_revoked_key_exits_1_with_auth_failed(monid, alice_test_key_added):
    api_key_revoke(api_key=ApiKey.objects.get(label="alice-test"))

    answer = monid("whoami")

    assert answer.code == 1
    assert answer.body["error"]["code"] == "AUTH_FAILED"
    assert answer.body["error"]["message"].startswith("API key is expired or invalid.")


def test_an_input_the_endpoint_refuses_exits_1_with_the_servers_reason_and_makes_no_run(monid, alice_test_key_added):
    answer = monid("run", "-p", "pdl", "-e", "/person/enrich", "--query", '{"email": 5}')

    assert answer.code == 1
    assert answer.body["error"]["code"] == "HTTP_400"
    assert answer.body["error"]["message"].startswith("Invalid input: ")
    assert not Run.objects.exists()


def test_an_unknown_endpoint_exits_1_with_not_found(monid, alice_test_key_added):
    answer = monid("inspect", "-p", "pdl", "-e", "/nope")

    assert answer.code == 1
    assert answer.body["error"]["code"] == "NOT_FOUND"
    assert "/nope" in answer.body["error"]["message"]


def test_without_a_key_it_exits_1_and_asks_for_one(monid):
    answer = monid("whoami")

    assert answer.code == 1
    assert answer.body["error"]["code"] == "AUTH_FAILED"


@pytest.mark.parametrize(
    "args, shown",
    [
        (["whoami"], "Slug: acme"),
        (["whoami", "--workspaces"], "acme"),
        (["discover", "-q", "twitter posts", "-l", "2"], "/apidojo/tweet-scraper"),
        (["inspect", "-p", "apify", "-e", "/apidojo/tweet-scraper"], "Amount: $0.0004/result"),
        (["run", *PDL_MATCH], "Status:   COMPLETED"),
        (["run", *TWEETS, "-w", "60"], "Status:   COMPLETED"),
        (["runs", "list", "-l", "5"], "COMPLETED"),
        (["balance"], "Balance: $0.00 USD"),
        (["resources", "list"], "No resources found."),
    ],
)
def test_without_json_the_clis_own_tables_and_details_read_our_answers(
    monid, alice_test_key_added, worker, args, shown
):
    """The CLI formats more of an answer for people than --json passes through (costs, prices, statuses)."""
    if args[0] == "runs":
        monid("run", *PDL_MATCH)

    answer = monid(*args, json_output=False)

    assert answer.code == 0, answer.stderr
    assert shown in answer.body
