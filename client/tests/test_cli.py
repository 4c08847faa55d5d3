"""The `monid` command with the flags of Monid's own CLI, in-process through main(argv) and once as the installed
program: the API's JSON on stdout, messages on stderr, exit codes 0 (ok), 1 (the run is not ok), 2 (usage) and 3
(the API refused). While a command waits for a run, the workers run where it would sleep."""

import functools
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import catalog_examples
from runs.models import Run

import monid
from monid import Monid, cli
from monid.cli import main

pytestmark = pytest.mark.django_db(transaction=True)

MATCH = '{"email": "sean@example.com"}'
ENRICH = ["-p", "pdl", "-e", "/person/enrich"]
TWEETS = ["-p", "apify", "-e", "/apidojo/tweet-scraper", "-i", '{"searchTerms": ["AI"], "maxItems": 3}']
SLOW_TWEETS = ["-p", "apify", "-e", "/apidojo/tweet-scraper", "-i", '{"searchTerms": ["emulator:slow"]}']
# The package under test, for the tests that start it as a program of its own.
PACKAGE_ROOT = str(Path(monid.__file__).parents[1])
# The files of Monid's own CLI (@monid-ai/cli 0.1.7) after `monid keys add -k … -l local`, byte for byte (the
# key made up).
OFFICIAL_CREDENTIALS = """\
keys:
  local:
    key: monid_test_aSampleKeyOfNoWorkspaceAtAllC
    prefix: monid_test
    added_at: 2026-12-07T14:41:32.866Z
"""
OFFICIAL_CONFIG = """\
version: 0.1.7
active_key: local
latest_version: 0.1.7
last_update_check: 2026-12-07T14:41:32.952Z
"""


@pytest.fixture
def env(monkeypatch, config_home, live_server, alice_test_key, task_queue, fake_time):
    """The key and the server come from the environment, as a shell user would set them; the command's client
    sleeps on the fake clock, and each time it would, the workers run."""
    monkeypatch.setenv("MONID_API_KEY", alice_test_key)
    monkeypatch.setenv("MONID_API_BASE_URL", live_server.url)
    monkeypatch.setattr(cli, "Monid", functools.partial(Monid, sleep=fake_time.sleep, clock=fake_time.clock))
    fake_time.on_sleep = lambda count: task_queue.run()
    yield
    task_queue.purge()  # the async runs these tests leave must not reach the next test (Redis outlives it)


def monid_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# run


def test_run_with_p_e_and_i_prints_the_finished_sync_run_as_json_and_exits_0(env, capsys):
    code, out, err = monid_cli(capsys, "run", *ENRICH, "-i", MATCH)
    assert code == 0 and err == ""
    run = json.loads(out)
    assert (run["status"], run["providerResponse"]["httpStatus"]) == ("COMPLETED", 200)
    assert Run.objects.get().id == run["runId"]


def test_i_query_and_path_build_the_input_as_monids_cli_does_leaving_out_empty_parts(env, capsys):
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-i", MATCH, "--query", '{"titlecase": true}', "--path", "{}")
    assert code == 0 and json.loads(out)["input"] == {
        "body": {"email": "sean@example.com"},
        "queryParams": {"titlecase": True},
    }


def test_run_reads_the_body_from_a_file(env, capsys, tmp_path):
    path = tmp_path / "input.json"
    path.write_text(MATCH)
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-f", str(path))
    assert code == 0 and json.loads(out)["input"] == {"body": {"email": "sean@example.com"}}


def test_run_reads_the_body_from_stdin_when_f_is_a_dash(env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MATCH))
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-f", "-")
    assert code == 0 and json.loads(out)["input"] == {"body": {"email": "sean@example.com"}}


def test_run_never_reads_stdin_unasked(env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MATCH))  # an agent's stdin may be a pipe that never ends
    code, _, err = monid_cli(capsys, "run", *ENRICH)
    assert code == 3 and "HTTP 400" in err
    assert sys.stdin.tell() == 0


def test_run_of_an_async_endpoint_prints_the_accepted_run_at_once_without_w(env, capsys, fake_time):
    code, out, _ = monid_cli(capsys, "run", *TWEETS)
    run = json.loads(out)
    assert (code, run["status"]) == (0, "RUNNING") and fake_time.sleeps == []
    assert Run.objects.get(pk=run["runId"]).status in ("READY", "RUNNING")


def test_w_waits_for_an_async_run_to_end(env, capsys, fake_time):
    code, out, _ = monid_cli(capsys, "run", *TWEETS, "-w")
    run = json.loads(out)
    assert (code, run["status"], run["providerResponse"]["httpStatus"], run["resultCount"]) == (0, "COMPLETED", 200, 3)
    assert fake_time.sleeps


def test_w_with_seconds_gives_up_after_them_with_exit_1_and_still_prints_the_run(env, capsys, fake_time):
    code, out, err = monid_cli(capsys, "run", *SLOW_TWEETS, "-w", "5")
    run = json.loads(out)
    assert (code, run["status"], sum(fake_time.sleeps)) == (1, "RUNNING", 5)
    assert f"monid runs get -r {run['runId']} -w" in err


def test_w_0_returns_at_once_as_monids_cli_does(env, capsys, fake_time):
    code, out, _ = monid_cli(capsys, "run", *TWEETS, "-w", "0")
    assert (code, json.loads(out)["status"], fake_time.sleeps) == (0, "RUNNING", [])


def test_o_writes_the_runs_output_to_a_file(env, capsys, tmp_path):
    path = tmp_path / "person.json"
    code, out, err = monid_cli(capsys, "run", *ENRICH, "-i", MATCH, "-o", str(path))
    assert code == 0 and f"output written to {path}" in err
    assert json.loads(path.read_text()) == json.loads(out)["output"]


def test_o_with_w_writes_an_async_runs_output_once_it_has_ended(env, capsys, tmp_path):
    path = tmp_path / "tweets.json"
    code, out, _ = monid_cli(capsys, "run", *TWEETS, "-w", "-o", str(path))
    assert code == 0 and len(json.loads(path.read_text())) == 3
    assert json.loads(path.read_text()) == json.loads(out)["output"]


def test_o_writes_the_providers_error_body_for_a_provider_error(env, capsys, tmp_path):
    path = tmp_path / "person.json"
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-i", '{"email": "nomatch@example.com"}', "-o", str(path))
    assert code == 1 and json.loads(path.read_text()) == json.loads(out)["providerResponse"]["error"]


def test_o_without_w_writes_nothing_for_a_run_still_running(env, capsys, tmp_path):
    path = tmp_path / "tweets.json"
    code, out, err = monid_cli(capsys, "run", *TWEETS, "-o", str(path))
    assert code == 0 and not path.exists()
    assert f"monid runs get -r {json.loads(out)['runId']} -w -o {path}" in err


def test_an_o_file_that_cannot_be_written_is_a_usage_error_after_the_run_is_printed(env, capsys, tmp_path):
    code, out, err = monid_cli(capsys, "run", *ENRICH, "-i", MATCH, "-o", str(tmp_path / "missing" / "person.json"))
    assert code == 2 and json.loads(out)["status"] == "COMPLETED" and "cannot write -o" in err


def test_a_provider_error_exits_1_with_the_run_still_on_stdout(env, capsys):
    code, out, err = monid_cli(capsys, "run", *ENRICH, "-i", '{"email": "nomatch@example.com"}')
    assert code == 1 and json.loads(out)["providerResponse"]["httpStatus"] == 404
    assert "provider answered HTTP 404" in err


def test_progress_goes_to_stderr_only(env, capsys):
    code, out, err = monid_cli(capsys, "run", *SLOW_TWEETS, "-w", "1", "--progress")
    run_id = json.loads(out)["runId"]  # stdout is the run's JSON and nothing else
    assert code == 1 and f"run {run_id} RUNNING" in err


def test_no_progress_is_shown_when_stderr_is_not_a_terminal(env, capsys):
    _, out, err = monid_cli(capsys, "run", *SLOW_TWEETS, "-w", "1")
    assert f"run {json.loads(out)['runId']} RUNNING after" not in err


# -j, usage and API errors


def test_j_prints_the_run_as_json(env, capsys):
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-i", MATCH, "-j")
    assert code == 0 and json.loads(out)["status"] == "COMPLETED"


def test_j_prints_an_api_error_as_json_on_stdout_too(env, capsys):
    code, out, err = monid_cli(capsys, "balance", "-j", "--api-key", "monid_test_not-a-real-key")
    assert code == 3 and "HTTP 401" in err
    error = json.loads(out)["error"]
    assert error["code"] == "AUTH_FAILED" and "HTTP 401" in error["message"]


def test_j_prints_a_usage_error_as_json_on_stdout_too(env, capsys):
    code, out, _ = monid_cli(capsys, "run", *ENRICH, "-i", "{email: sean}", "-j")
    error = json.loads(out)["error"]
    assert (code, error["code"]) == (2, "USAGE") and "not JSON" in error["message"]


def test_input_that_is_not_json_is_a_usage_error(env, capsys):
    code, out, err = monid_cli(capsys, "run", *ENRICH, "-i", "{email: sean}")
    assert (code, out) == (2, "") and "not JSON" in err
    assert not Run.objects.exists()


def test_a_missing_flag_is_a_usage_error_naming_it(env, capsys):
    code, out, err = monid_cli(capsys, "inspect", "-p", "pdl")
    assert (code, out) == (2, "") and "usage:" in err and "-e/--endpoint" in err


def test_a_flag_given_twice_with_its_positional_form_is_a_usage_error(env, capsys):
    code, _, err = monid_cli(capsys, "inspect", "pdl", "/person/enrich", "-p", "apify")
    assert code == 2 and "-p/--provider given twice" in err


def test_a_missing_key_is_a_usage_error_naming_the_three_ways_to_give_one(env, capsys, monkeypatch):
    monkeypatch.delenv("MONID_API_KEY")
    code, _, err = monid_cli(capsys, "balance")
    assert code == 2 and "--api-key" in err and "MONID_API_KEY" in err and "monid keys add -k KEY -l LABEL" in err


def test_a_bad_key_is_an_api_error(env, capsys):
    code, out, err = monid_cli(capsys, "balance", "--api-key", "monid_test_not-a-real-key")
    assert (code, out) == (3, "") and "HTTP 401" in err


def test_an_input_the_server_refuses_is_an_api_error_naming_the_failing_path(env, capsys):
    code, _, err = monid_cli(capsys, "run", *ENRICH, "-i", '{"email": "sean"}')
    assert code == 3 and "HTTP 400" in err and "input.email" in err


def test_options_after_the_command_override_the_environment(env, capsys, monkeypatch, live_server, alice_test_key):
    monkeypatch.setenv("MONID_API_KEY", "monid_test_not-a-real-key")
    monkeypatch.setenv("MONID_API_BASE_URL", "http://127.0.0.1:9")
    code, out, _ = monid_cli(capsys, "balance", "--api-key", alice_test_key, "--base-url", live_server.url)
    assert code == 0 and json.loads(out)["balance"]["currency"] == "USD"


# discover and inspect


def test_discover_q_l_prints_the_apis_answer_with_its_hint(env, capsys):
    code, out, _ = monid_cli(capsys, "discover", "-q", "enrich a person by email", "-l", "2")
    found = json.loads(out)
    assert code == 0 and found["count"] == len(found["results"]) <= 2
    assert found["results"][0]["endpoint"] == "/person/enrich"
    assert found["hints"]["next"] == "monid inspect -p pdl -e /person/enrich"


def test_discover_s_leaves_out_the_results_under_the_min_score(env, capsys):
    _, out, _ = monid_cli(capsys, "discover", "-q", "twitter posts", "-l", "50")
    every = json.loads(out)["results"]
    _, out, _ = monid_cli(capsys, "discover", "-q", "twitter posts", "-l", "50", "-s", "0.5")
    assert 0 < len(json.loads(out)["results"]) < len(every)
    assert json.loads(out)["results"] == [result for result in every if result["score"] >= 0.5]


def test_discover_u_includes_an_endpoint_in_outage_ranked_last(env, capsys, tweets_in_outage):
    _, out, _ = monid_cli(capsys, "discover", "-q", "twitter posts", "-l", "3")
    assert "/apidojo/tweet-scraper" not in [result["endpoint"] for result in json.loads(out)["results"]]
    _, out, _ = monid_cli(capsys, "discover", "-q", "twitter posts", "-l", "3", "-u")
    assert json.loads(out)["results"][-1]["endpoint"] == "/apidojo/tweet-scraper"


def test_inspect_p_e_prints_the_endpoints_input_schema_and_the_run_to_try(env, capsys):
    code, out, _ = monid_cli(capsys, "inspect", *ENRICH)
    card = json.loads(out)
    assert code == 0 and card["inputSchema"]["type"] == "object"
    assert card["hints"]["next"].startswith("monid run -p pdl -e /person/enrich ")


@pytest.mark.parametrize(
    "older, monids",
    [
        (["discover", "twitter posts"], ["discover", "-q", "twitter posts"]),
        (["inspect", "pdl", "/person/enrich"], ["inspect", *ENRICH]),
        (["run", "pdl", "/person/enrich", "--input", MATCH], ["run", *ENRICH, "-i", MATCH]),
    ],
)
def test_the_older_positional_forms_still_work(env, capsys, older, monids):
    code, out, _ = monid_cli(capsys, *older)
    older_out = {
        key: value
        for key, value in json.loads(out).items()
        if key not in ("runId", "createdAt", "startedAt", "completedAt")
    }
    _, out, _ = monid_cli(capsys, *monids)
    assert code == 0 and older_out == {key: value for key, value in json.loads(out).items() if key in older_out}


# runs, balance, whoami


def test_runs_list_prints_the_apis_page_and_its_cursor_goes_on_from_it(env, capsys):
    created = [json.loads(monid_cli(capsys, "run", *ENRICH, "-i", MATCH)[1])["runId"] for _ in range(3)]
    code, out, _ = monid_cli(capsys, "runs", "list", "-l", "2")
    page = json.loads(out)
    assert code == 0 and [item["runId"] for item in page["items"]] == created[:0:-1] and page["cursor"]
    _, out, _ = monid_cli(capsys, "runs", "list", "-l", "2", "--cursor", page["cursor"])
    assert json.loads(out) == {"items": [json.loads(out)["items"][0]], "cursor": None}
    assert json.loads(out)["items"][0]["runId"] == created[0]


def test_runs_list_prints_one_json_object_a_line_on_request(env, capsys):
    for _ in range(3):
        monid_cli(capsys, "run", *ENRICH, "-i", MATCH)
    code, out, _ = monid_cli(capsys, "runs", "list", "-l", "2", "--format", "lines")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 2 and all(line["status"] == "COMPLETED" for line in lines)


def test_runs_list_prints_a_json_array_of_every_run_on_request_with_its_filters(env, capsys):
    monid_cli(capsys, "run", *ENRICH, "-i", MATCH)
    monid_cli(capsys, "run", *TWEETS)
    code, out, _ = monid_cli(capsys, "runs", "list", "-l", "0", "--format", "array", "--provider", "apify")
    assert code == 0 and [run["provider"] for run in json.loads(out)] == ["apify"]


def test_runs_get_r_prints_the_run(env, capsys):
    run_id = json.loads(monid_cli(capsys, "run", *TWEETS)[1])["runId"]
    code, out, _ = monid_cli(capsys, "runs", "get", "-r", run_id)
    assert (code, json.loads(out)["runId"], json.loads(out)["status"]) == (0, run_id, "RUNNING")


def test_runs_get_w_waits_for_the_run_to_end_and_o_writes_its_output(env, capsys, tmp_path):
    run_id = json.loads(monid_cli(capsys, "run", *TWEETS)[1])["runId"]
    path = tmp_path / "tweets.json"
    code, out, _ = monid_cli(capsys, "runs", "get", "-r", run_id, "-w", "-o", str(path))
    assert (code, json.loads(out)["status"]) == (0, "COMPLETED")
    assert json.loads(path.read_text()) == json.loads(out)["output"] and len(json.loads(out)["output"]) == 3


def test_runs_get_w_0_looks_once_and_exits_1_for_a_run_still_running(env, capsys, fake_time):
    run_id = json.loads(monid_cli(capsys, "run", *SLOW_TWEETS)[1])["runId"]
    code, out, err = monid_cli(capsys, "runs", "get", "-r", run_id, "-w", "0")
    assert (code, json.loads(out)["status"], fake_time.sleeps) == (1, "RUNNING", [])
    assert "still RUNNING" in err


def test_runs_stop_r_stops_a_run_which_then_ends_stopped(env, capsys, task_queue):
    run_id = json.loads(monid_cli(capsys, "run", *SLOW_TWEETS)[1])["runId"]
    task_queue.run()
    code, out, _ = monid_cli(capsys, "runs", "stop", "-r", run_id)
    assert (code, json.loads(out)["status"]) == (0, "STOPPING")
    code, out, err = monid_cli(capsys, "runs", "get", "-r", run_id, "-w")
    assert (code, json.loads(out)["status"]) == (1, "STOPPED") and "ended STOPPED" in err


def test_runs_get_of_an_unknown_run_is_an_api_error(env, capsys):
    code, _, err = monid_cli(capsys, "runs", "get", "-r", "01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert code == 3 and "HTTP 404" in err


def test_runs_get_and_stop_take_the_run_id_as_a_positional_argument_too(env, capsys):
    run_id = json.loads(monid_cli(capsys, "run", *SLOW_TWEETS)[1])["runId"]
    assert json.loads(monid_cli(capsys, "runs", "stop", run_id)[1])["status"] == "STOPPING"
    assert json.loads(monid_cli(capsys, "runs", "get", run_id)[1])["runId"] == run_id


def test_balance_prints_the_wallet(env, capsys):
    code, out, _ = monid_cli(capsys, "balance")
    assert code == 0 and json.loads(out)["balance"]["currency"] == "USD"


def test_whoami_prints_who_made_the_key_and_its_workspace(env, capsys):
    code, out, _ = monid_cli(capsys, "whoami")
    assert code == 0 and json.loads(out) == {
        "user": {"userId": "alice", "username": "alice", "email": ""},
        "workspace": {"workspaceId": "acme", "name": "Acme", "slug": "acme"},
    }


def test_whoami_workspaces_lists_the_keys_workspace(env, capsys):
    code, out, _ = monid_cli(capsys, "whoami", "--workspaces", "-j")
    assert code == 0 and json.loads(out) == {"workspaces": [{"workspaceId": "acme", "name": "Acme", "slug": "acme"}]}


# resources


def test_resources_list_prints_the_apis_empty_page(env, capsys):
    code, out, _ = monid_cli(
        capsys, "resources", "list", "-p", "twilio", "-t", "phone_number", "-s", "ACTIVE", "-l", "5"
    )
    assert (code, json.loads(out)) == (0, {"items": [], "cursor": None})


def test_resources_list_sends_the_filters_that_the_server_checks(env, capsys):
    code, _, err = monid_cli(capsys, "resources", "list", "-t", "phone_number")
    assert code == 3 and "HTTP 400" in err and "resourceType" in err


# keys


def stored(config_home, name):
    """One of the store's files, every value as the text written (as Monid's CLI reads it)."""
    return yaml.load((config_home / f"{name}.yaml").read_text(), Loader=yaml.BaseLoader)


def files_of(config_home):
    """Every file of the store, with its content and inode: a file written again, even unchanged, is a new inode."""
    return {path.name: (path.read_bytes(), path.stat().st_ino) for path in config_home.iterdir()}


def test_keys_add_stores_the_first_key_as_the_active_one_readable_by_its_owner_alone(config_home, capsys):
    code, out, err = monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")
    assert (code, json.loads(out)) == (0, {}) and 'key "local" added and activated' in err
    assert (config_home / "credentials.yaml").stat().st_mode & 0o777 == 0o600
    local = stored(config_home, "credentials")["keys"]["local"]
    assert {name: local[name] for name in ("key", "prefix")} == {"key": "monid_test_abc123", "prefix": "monid_test"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", local["added_at"])
    assert stored(config_home, "config") == {"active_key": "local"}


def test_keys_list_shows_the_keys_obfuscated_as_monids_cli_does_and_which_is_active(config_home, capsys):
    monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")
    monid_cli(capsys, "keys", "add", "-k", "monid_live_xyz789", "-l", "live")
    code, out, _ = monid_cli(capsys, "keys", "list", "-j")
    added = {label: keys["added_at"] for label, keys in stored(config_home, "credentials")["keys"].items()}
    assert (code, json.loads(out)) == (
        0,
        [
            {
                "label": "local",
                "prefix": "monid_test",
                "key": "monid_test_······3",
                "added_at": added["local"],
                "active": True,
            },
            {
                "label": "live",
                "prefix": "monid_live",
                "key": "monid_live_······9",
                "added_at": added["live"],
                "active": False,
            },
        ],
    )


def test_keys_activate_makes_another_stored_key_the_active_one(config_home, capsys):
    monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")
    monid_cli(capsys, "keys", "add", "-k", "monid_live_xyz789", "-l", "live")
    code, out, _ = monid_cli(capsys, "keys", "activate", "-l", "live")
    assert (code, json.loads(out)) == (0, {}) and stored(config_home, "config")["active_key"] == "live"


def test_keys_remove_f_forgets_the_active_key_and_leaves_none_active(config_home, capsys):
    monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")
    monid_cli(capsys, "keys", "add", "-k", "monid_live_xyz789", "-l", "live")
    code, out, _ = monid_cli(capsys, "keys", "remove", "-l", "local", "-f")
    assert (code, json.loads(out)) == (0, {})
    assert list(stored(config_home, "credentials")["keys"]) == ["live"]
    assert stored(config_home, "config")["active_key"] == ""


def test_keys_commands_need_no_api_key_and_no_server(config_home, capsys, monkeypatch):
    monkeypatch.delenv("MONID_API_KEY", raising=False)
    monkeypatch.setenv("MONID_API_BASE_URL", "http://127.0.0.1:9")
    assert monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")[0] == 0
    assert json.loads(monid_cli(capsys, "keys", "list")[1])[0]["label"] == "local"


@pytest.mark.parametrize(
    "argv, says",
    [
        (["add", "-k", "sk_test_abc123", "-l", "other"], "Invalid API key format. Expected: monid_<stage>_<secret>"),
        (["add", "-k", "monid_abc123", "-l", "other"], "Invalid API key format. Expected: monid_<stage>_<secret>"),
        (["add", "-k", "monid_test_xyz", "-l", "local"], 'A key with label "local" already exists.'),
        (["remove", "-l", "nope", "-f"], 'No key found with label "nope".'),
        (["activate", "-l", "nope"], 'No key found with label "nope". Run "monid keys list" to see available keys.'),
        (["remove", "-l", "local"], "add -f/--force"),
    ],
)
def test_keys_refuses_with_a_usage_error_and_writes_nothing(config_home, capsys, argv, says):
    monid_cli(capsys, "keys", "add", "-k", "monid_test_abc123", "-l", "local")
    before = files_of(config_home)
    code, out, err = monid_cli(capsys, "keys", *argv)
    assert (code, out) == (2, "") and says in err
    assert files_of(config_home) == before


def test_keys_refusals_are_printed_as_json_with_j(config_home, capsys):
    code, out, _ = monid_cli(capsys, "keys", "activate", "-l", "nope", "-j")
    assert (code, json.loads(out)["error"]["code"]) == (2, "USAGE")


def test_the_active_stored_key_is_used_when_no_key_is_given(env, capsys, monkeypatch, alice_test_key):
    monkeypatch.delenv("MONID_API_KEY")
    monid_cli(capsys, "keys", "add", "-k", alice_test_key, "-l", "alice")
    code, out, _ = monid_cli(capsys, "whoami")
    assert (code, json.loads(out)["user"]["userId"]) == (0, "alice")


def test_api_key_and_monid_api_key_win_over_the_stored_key(env, capsys, monkeypatch, alice_test_key):
    monid_cli(capsys, "keys", "add", "-k", "monid_test_not-a-real-key", "-l", "stale")
    assert monid_cli(capsys, "whoami")[0] == 0  # MONID_API_KEY
    monkeypatch.delenv("MONID_API_KEY")
    assert monid_cli(capsys, "whoami", "--api-key", alice_test_key)[0] == 0
    code, _, err = monid_cli(capsys, "whoami")  # the stored key, at last
    assert code == 3 and "HTTP 401" in err


def test_ours_reads_the_keys_monids_cli_wrote_and_keeps_what_it_does_not_change(config_home, capsys):
    config_home.mkdir(parents=True)
    (config_home / "credentials.yaml").write_text(OFFICIAL_CREDENTIALS)
    (config_home / "config.yaml").write_text(OFFICIAL_CONFIG)
    _, out, _ = monid_cli(capsys, "keys", "list")
    assert json.loads(out) == [
        {
            "label": "local",
            "prefix": "monid_test",
            "key": "monid_test_······C",
            "added_at": "2026-12-07T14:41:32.866Z",
            "active": True,
        }
    ]
    assert monid_cli(capsys, "keys", "add", "-k", "monid_live_xyz789", "-l", "live")[0] == 0
    assert stored(config_home, "config") == yaml.load(OFFICIAL_CONFIG, Loader=yaml.BaseLoader)
    assert stored(config_home, "credentials")["keys"]["local"] == {
        "key": "monid_test_aSampleKeyOfNoWorkspaceAtAllC",
        "prefix": "monid_test",
        "added_at": "2026-12-07T14:41:32.866Z",
    }


# the program


def test_help_documents_the_exit_codes_and_the_environment(capsys):
    code, out, _ = monid_cli(capsys, "--help")
    assert code == 0 and "exit codes:" in out and "MONID_API_KEY" in out and "MONID_API_BASE_URL" in out


def test_the_installed_monid_command_runs_an_endpoint(live_server, alice_test_key):
    program = Path(sys.executable).with_name("monid")
    result = subprocess.run(
        [str(program), "run", *ENRICH, "-i", MATCH],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "MONID_API_KEY": alice_test_key,
            "MONID_API_BASE_URL": live_server.url,
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": PACKAGE_ROOT,
        },
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["providerResponse"]["httpStatus"] == 200


def test_python_dash_m_monid_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "-m", "monid", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
    )
    assert result.returncode == 0 and result.stdout.startswith("monid ")


def test_the_run_that_inspect_hints_at_works_for_every_catalog_endpoint(env, capsys):
    for provider, path, _ in catalog_examples():
        _, out, _ = monid_cli(capsys, "inspect", "-p", provider, "-e", path, "-j")
        hint = shlex.split(json.loads(out)["hints"]["next"])
        assert hint[:2] == ["monid", "run"], hint
        code, out, err = monid_cli(capsys, *hint[1:])
        run = json.loads(out)
        assert (code, run["status"], run["providerResponse"]["httpStatus"]) == (0, "COMPLETED", 200), (hint, err)
