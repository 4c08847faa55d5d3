"""docs/agents/SKILL.md, the skill agent hosts install: its front matter, and every command its code blocks show,
run against the live test server with Alice's test key.

How the code blocks are read:
- blank lines and `# …` lines are skipped; a line ending in `\\` goes on on the next;
- `export MONID_API_BASE_URL=…` and `export MONID_API_KEY=…` are not run: the test sets both variables itself,
  to the live server's address and to the test key;
- a line beginning `monid ` or `curl ` is run by bash, as an agent's shell would run it, with those two variables
  set, the `monid` program of the virtualenv (importing this checkout's client/), in a directory of its own (for
  `-o FILE`); while it runs the test plays the workers, as `make run`'s qcluster would;
- a line `monid_<tool> {arguments}` (in a `text` block) is that MCP tool called with those JSON arguments, through
  the MCP SDK's client on /mcp;
- RUN_ID stands for a run the test starts first, with the same key: an async run of the tweet scraper, not yet
  ended; for a stop, one that never ends by itself (the fixture case `emulator:slow`), so the stop always finds it
  in flight.
Any other line fails test_every_line_of_its_code_blocks_is_one_the_test_can_run, and every command must have a check
of its answer in CHECKS (a command the test does not know fails the same test). The skill must show every command of
the CLI and every MCP tool.
"""

import itertools
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from ops import mcp_server
from ops.tests.mcp_session import in_own_thread, mcp_calls

SKILL = Path(__file__).resolve().parents[2] / "docs" / "agents" / "SKILL.md"
CLIENT = Path(__file__).resolve().parents[2] / "client"  # this checkout's client, whatever the virtualenv installed
PROGRAMS = Path(sys.executable).parent  # the virtualenv's bin/, where `monid` is installed
RUN_ID = "RUN_ID"
EXPORTED = {"MONID_API_BASE_URL", "MONID_API_KEY"}
MCP_CALL = re.compile(r"(monid_[a-z_]+) (\{.*\})")
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 3}}
NEVER_ENDS = {**TWEETS, "input": {"searchTerms": ["emulator:slow"]}}
ACME = {"workspaceId": "acme", "name": "Acme", "slug": "acme"}
STORED = "local"  # the label of the key stored before a `monid keys` command that needs one


@dataclass
class Command:
    """One command of the skill: `kind` names what it does ("monid runs get", "POST /v1/run", "monid_run")."""

    line: int
    text: str
    kind: str = ""
    argv: list = field(default_factory=list)  # a shell command's words, as a shell splits them
    arguments: dict = field(default_factory=dict)  # an MCP call's

    @property
    def waits(self) -> bool:
        return "-w" in self.argv or bool(self.arguments.get("waitSeconds"))

    @property
    def stops(self) -> bool:
        return self.kind in ("monid runs stop", "POST /v1/runs/{runId}/stop", "monid_stop_run")

    def __str__(self):
        return f"SKILL.md line {self.line}: {self.text}"


def front_matter() -> tuple[dict, str]:
    text = SKILL.read_text(encoding="utf-8")
    assert text.startswith("---\n"), "SKILL.md must open with YAML front matter"
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def code_lines() -> list[tuple[str, int, str]]:
    """(block's info string, line number, line) of every line inside a fenced code block, continuations joined."""
    lines, info, pending = [], None, None
    for number, line in enumerate(SKILL.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            info = line[3:].strip() if info is None else None
            continue
        if info is None:
            continue
        if pending:
            line = f"{pending[1]} {line.strip()}"
        if line.endswith("\\"):
            pending = (pending[0] if pending else number, line[:-1].rstrip())
            continue
        lines.append((info, pending[0] if pending else number, line))
        pending = None
    return lines


def _shell_kind(argv: list[str]) -> str:
    """ "monid runs get" for a monid command (its command words: two under `runs`), "POST /v1/run" for a curl of
    this server; "" for anything else."""
    if argv[0] == "monid":
        words = list(itertools.takewhile(lambda word: not word.startswith("-"), argv[1:]))
        return " ".join(["monid", *words[: 2 if words[:1] in (["runs"], ["keys"], ["resources"]) else 1]])
    urls = [word for word in argv if word.startswith("$MONID_API_BASE_URL/")]
    if not urls:
        return ""
    method = argv[argv.index("-X") + 1] if "-X" in argv[:-1] else "GET"
    return f"{method} {urls[0].removeprefix('$MONID_API_BASE_URL').replace(RUN_ID, '{runId}')}"


def _plain_shell(line: str) -> bool:
    """Whether a line is one simple command: no pipes, redirections, lists or substitutions for the test to miss."""
    if "`" in line or "$(" in line:
        return False
    words = shlex.shlex(line, posix=True, punctuation_chars=True)
    words.whitespace_split = True
    try:
        return not any(set(word) <= set("();<>|&") for word in words)
    except ValueError:  # an unclosed quote
        return False


def commands() -> tuple[list[Command], list[str]]:
    """The skill's commands, and the code lines the test cannot run (each as "line N: text")."""
    found, problems = [], []
    for info, number, line in code_lines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if info == "sh" and stripped.startswith("export "):
            name = stripped.removeprefix("export ").split("=", 1)[0]
            if name not in EXPORTED:
                problems.append(f"line {number}: exports {name}, which the test does not set: {line}")
            continue
        if info == "sh" and stripped.startswith(("monid ", "curl ")) and _plain_shell(stripped):
            argv = shlex.split(stripped, comments=True)
            found.append(Command(number, stripped, _shell_kind(argv), argv=argv))
            continue
        match = MCP_CALL.fullmatch(stripped)
        if info == "text" and match:
            found.append(Command(number, stripped, match[1], arguments=json.loads(match[2])))
            continue
        problems.append(f"line {number} (a {info or 'plain'} block): {line}")
    for command in found:
        if command.kind not in CHECKS:
            problems.append(f"line {command.line}: {command.kind!r} has no check of its answer in CHECKS")
    return found, problems


# Each command's answer, checked: (its JSON, the command, the run the test started first, the directory it ran in).


def _discovered(body, command, started, cwd):
    assert body["count"] == len(body["results"]) > 0
    assert {"provider", "endpoint", "price", "score"} <= body["results"][0].keys()
    assert body["hints"]["next"].startswith("monid inspect -p ")


def _inspected(body, command, started, cwd):
    assert body["inputSchema"]["type"] == "object" and body["price"]["currency"] == "USD"
    assert body["input"] and body["hints"]["next"].startswith("monid run -p ")


def _run(body, command, started, cwd):
    ended_well = body["status"] == "COMPLETED" and 200 <= body["providerResponse"]["httpStatus"] < 300
    assert ended_well if command.waits else ended_well or body["status"] in ("READY", "RUNNING"), body
    if ended_well:
        assert body["testMode"] is True and body["cost"] == {"value": 0.0, "currency": "USD"}
    assert body["runId"] == started if RUN_ID in command.text else body["runId"] != started
    if "-o" in command.argv:
        written = cwd / command.argv[command.argv.index("-o") + 1]
        assert json.loads(written.read_text()) == body["output"] and body["output"]


def _stopping(body, command, started, cwd):
    assert (body["runId"], body["status"]) == (started, "STOPPING")


def _runs_page(body, command, started, cwd):
    assert [run["runId"] for run in body["items"]] == [started] and "cursor" in body


def _wallet(body, command, started, cwd):
    zero = {"value": 0.0, "currency": "USD"}  # a test key's workspace, never credited, and never charged
    assert body == {"balance": zero, "held": zero}


def _workspaces(body, command, started, cwd):
    assert body == {"workspaces": [ACME]}


def _whoami(body, command, started, cwd):
    if "--workspaces" in command.argv:
        return _workspaces(body, command, started, cwd)
    assert body["user"]["username"] == "alice" and body["workspace"] == ACME


def _resources_page(body, command, started, cwd):
    assert body == {"items": [], "cursor": None}


def _stored(cwd) -> tuple[dict, str]:
    """The keys `monid keys` stored (XDG_CONFIG_HOME is the command's directory's config/), and the active label."""
    folder = cwd / "config" / "monid"
    keys = yaml.safe_load((folder / "credentials.yaml").read_text())["keys"]
    return keys, yaml.safe_load((folder / "config.yaml").read_text())["active_key"]


def _key_kept(body, command, started, cwd):
    keys, active = _stored(cwd)
    label = command.argv[command.argv.index("-l") + 1]
    if command.kind == "monid keys remove":
        assert (body, label in keys, active) == ({}, False, "")
    else:
        assert (body, keys[label]["prefix"], active) == ({}, "monid_test", label)


def _keys_listed(body, command, started, cwd):
    [key] = body
    assert (key["label"], key["prefix"], key["active"]) == (STORED, "monid_test", True)
    assert key["key"].startswith("monid_test_") and len(key["key"]) < 20  # never the whole key


CHECKS = {
    "monid discover": _discovered,
    "monid inspect": _inspected,
    "monid run": _run,
    "monid runs get": _run,
    "monid runs list": _runs_page,
    "monid runs stop": _stopping,
    "monid balance": _wallet,
    "monid whoami": _whoami,
    "monid resources list": _resources_page,
    "monid keys add": _key_kept,
    "monid keys activate": _key_kept,
    "monid keys remove": _key_kept,
    "monid keys list": _keys_listed,
    "POST /v1/discover": _discovered,
    "POST /v1/inspect": _inspected,
    "POST /v1/run": _run,
    "GET /v1/runs/{runId}": _run,
    "GET /v1/wallet/balance": _wallet,
    "monid_discover": _discovered,
    "monid_inspect": _inspected,
    "monid_run": _run,
    "monid_get_run": _run,
    "monid_list_runs": _runs_page,
    "monid_stop_run": _stopping,
    "monid_balance": _wallet,
    "monid_list_workspaces": _workspaces,
}
COMMANDS, PROBLEMS = commands()
SHELL = [command for command in COMMANDS if command.argv]
MCP = [command for command in COMMANDS if not command.argv]
SHELL_IDS = [command.text.split("  #")[0] for command in SHELL]  # without its comment


def test_its_front_matter_names_the_skill_and_says_when_to_use_it():
    meta, body = front_matter()

    assert set(meta) <= {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
    # The Agent Skills format's bounds: a lowercase, hyphenated name of at most 64 characters, and a description of
    # at most 1,024 that says what the skill does and when to use it.
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", meta["name"]) and len(meta["name"]) <= 64
    assert 0 < len(meta["description"]) <= 1024 and "Monid" in meta["description"]
    assert body.lstrip().startswith("# ") and len(body.splitlines()) < 500  # read whole on every activation


def test_every_line_of_its_code_blocks_is_one_the_test_can_run():
    assert COMMANDS
    assert PROBLEMS == []


def test_it_shows_every_command_of_the_cli_and_every_mcp_tool(monkeypatch):
    monkeypatch.syspath_prepend(str(CLIENT))
    from monid.cli import build_parser

    def paths(parser, prefix):
        subparsers = next(action for action in parser._actions if action.choices and action.dest.endswith("command"))
        for name, sub in subparsers.choices.items():
            has_own = any(action.dest.endswith("command") and action.choices for action in sub._actions)
            yield from paths(sub, f"{prefix} {name}") if has_own else [f"{prefix} {name}"]

    tools = {tool.name for tool in in_own_thread(mcp_server.server.list_tools)}
    shown = {command.kind for command in COMMANDS}
    assert set(paths(build_parser(), "monid")) <= shown
    assert tools == {kind for kind in shown if kind.startswith("monid_")}


def test_the_commands_and_tools_its_prose_names_exist():
    text = SKILL.read_text(encoding="utf-8")
    kinds = set(CHECKS)
    tools = {tool.name for tool in in_own_thread(mcp_server.server.list_tools)}
    for span in re.findall(r"`(monid [^`]*)`", text):
        argv = span.split()
        assert argv[1].startswith("-") or _shell_kind(argv) in kinds, span
    assert set(re.findall(r"\bmonid_(?!test_|live_)[a-z_]+", text)) <= tools  # not the keys' prefixes


def _start(live_server, key, run):
    response = requests.post(
        f"{live_server.url}/v1/run", json=run, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["runId"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", SHELL, ids=SHELL_IDS)
def test_each_shell_command_it_shows_works_on_a_live_server(command, live_server, alice_test_key, task_queue, tmp_path):
    run_id = _start(live_server, alice_test_key, NEVER_ENDS if command.stops else TWEETS)
    env = {
        "PATH": f"{PROGRAMS}:/usr/bin:/bin",
        "PYTHONPATH": str(CLIENT),
        "MONID_API_BASE_URL": live_server.url,
        "MONID_API_KEY": alice_test_key,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # where `monid keys` keeps keys: not the developer's own
    }
    if command.kind in ("monid keys list", "monid keys activate", "monid keys remove"):
        add = [PROGRAMS / "monid", "keys", "add", "-k", alice_test_key, "-l", STORED]
        subprocess.run(add, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=60)

    # Files, not pipes: a command that prints more than a pipe holds would wait for the test to read it.
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        shown = subprocess.Popen(
            ["bash", "-c", command.text.replace(RUN_ID, run_id)],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=stderr,
            text=True,
        )
        deadline = time.monotonic() + 90
        while shown.poll() is None and time.monotonic() < deadline:
            if not command.stops:  # a stop must find its run in flight
                task_queue.run(checks=1)
            time.sleep(0.05)
        if shown.poll() is None:
            shown.kill()
        shown.wait()
        task_queue.purge()
        stdout.seek(0)
        stderr.seek(0)
        out, err = stdout.read(), stderr.read()

    assert shown.returncode == 0, f"{command}\nexit {shown.returncode}\n{err}"
    CHECKS[command.kind](json.loads(out), command, run_id, tmp_path)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", MCP, ids=[command.text for command in MCP])
def test_each_mcp_call_it_shows_works_on_a_live_server(command, live_server, alice_test_key, task_queue, monkeypatch):
    run_id = _start(live_server, alice_test_key, NEVER_ENDS if command.stops else TWEETS)
    monkeypatch.setattr(mcp_server, "_sleep", lambda seconds: task_queue.run())  # a wait plays the workers
    arguments = {name: run_id if value == RUN_ID else value for name, value in command.arguments.items()}

    [result] = mcp_calls(live_server, alice_test_key, (command.kind, arguments))
    task_queue.purge()

    assert not result.is_error, f"{command}\n{result.content[0].text}"
    CHECKS[command.kind](json.loads(result.content[0].text), command, run_id, None)
