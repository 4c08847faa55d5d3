"""The `monid` command, in-process through main(argv) and once as the installed program: JSON on stdout,
messages on stderr, and exit codes 0 (ok), 1 (the run is not ok), 2 (usage) and 3 (the API refused)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from monid.cli import main
from conftest import catalog_examples
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

MATCH = '{"email": "sean@example.com"}'


@pytest.fixture
def env(monkeypatch, live_server, alice_test_key, task_queue):
    """The key and the server come from the environment, as a shell user would set them."""
    monkeypatch.setenv("MONID_API_KEY", alice_test_key)
    monkeypatch.setenv("MONID_API_BASE_URL", live_server.url)
    yield
    task_queue.purge()  # the async runs these tests leave must not reach the next test (Redis outlives it)


def monid(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_with_input_prints_the_finished_run_as_json_and_exits_0(env, capsys):
    code, out, err = monid(capsys, "run", "pdl", "/person/enrich", "--input", MATCH)
    assert code == 0 and err == ""
    run = json.loads(out)
    assert (run["status"], run["providerResponse"]["httpStatus"]) == ("COMPLETED", 200)
    assert Run.objects.get().id == run["runId"]


def test_run_reads_its_input_from_a_file(env, capsys, tmp_path):
    path = tmp_path / "input.json"
    path.write_text(MATCH)
    code, out, _ = monid(capsys, "run", "pdl", "/person/enrich", "--input-file", str(path))
    assert code == 0 and json.loads(out)["input"] == {"email": "sean@example.com"}


def test_run_reads_its_input_from_stdin(env, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(MATCH))
    code, out, _ = monid(capsys, "run", "pdl", "/person/enrich")
    assert code == 0 and json.loads(out)["input"] == {"email": "sean@example.com"}


def test_a_provider_error_exits_1_with_the_run_still_on_stdout(env, capsys):
    code, out, err = monid(capsys, "run", "pdl", "/person/enrich", "--input", '{"email": "nomatch@example.com"}')
    assert code == 1 and json.loads(out)["providerResponse"]["httpStatus"] == 404
    assert "provider answered HTTP 404" in err


def test_no_wait_prints_the_accepted_async_run_and_exits_0(env, capsys):
    code, out, _ = monid(capsys, "run", "apify", "/apidojo/tweet-scraper", "--input", '{"searchTerms": ["AI"]}',
                         "--no-wait")
    assert code == 0 and json.loads(out)["status"] == "RUNNING"


def test_a_wait_that_times_out_exits_1_and_still_prints_the_run(env, capsys):
    code, out, err = monid(capsys, "run", "apify", "/apidojo/tweet-scraper", "--input", '{"searchTerms": ["AI"]}',
                           "--timeout", "0")
    run_id = json.loads(out)["runId"]
    assert code == 1 and f"monid runs get {run_id}" in err


def test_progress_goes_to_stderr_only(env, capsys):
    code, out, err = monid(capsys, "run", "apify", "/apidojo/tweet-scraper", "--input", '{"searchTerms": ["AI"]}',
                           "--timeout", "0", "--progress")
    run_id = json.loads(out)["runId"]  # stdout is the run's JSON and nothing else
    assert code == 1 and f"run {run_id} RUNNING" in err


def test_no_progress_is_shown_when_stderr_is_not_a_terminal(env, capsys):
    _, out, err = monid(capsys, "run", "apify", "/apidojo/tweet-scraper", "--input", '{"searchTerms": ["AI"]}',
                        "--timeout", "0")
    assert f"run {json.loads(out)['runId']} RUNNING after" not in err


def test_input_that_is_not_json_is_a_usage_error(env, capsys):
    code, out, err = monid(capsys, "run", "pdl", "/person/enrich", "--input", "{email: sean}")
    assert (code, out) == (2, "") and "not JSON" in err
    assert not Run.objects.exists()


def test_a_missing_argument_is_a_usage_error(env, capsys):
    code, _, err = monid(capsys, "inspect", "pdl")
    assert code == 2 and "usage:" in err


def test_a_missing_key_is_a_usage_error(env, capsys, monkeypatch):
    monkeypatch.delenv("MONID_API_KEY")
    code, _, err = monid(capsys, "balance")
    assert code == 2 and "MONID_API_KEY" in err


def test_a_bad_key_is_an_api_error(env, capsys):
    code, out, err = monid(capsys, "balance", "--api-key", "monid_test_not-a-real-key")
    assert (code, out) == (3, "") and "HTTP 401" in err


def test_an_input_the_server_refuses_is_an_api_error_naming_the_failing_path(env, capsys):
    code, _, err = monid(capsys, "run", "pdl", "/person/enrich", "--input", '{"email": "sean"}')
    assert code == 3 and "HTTP 400" in err and "input.email" in err


def test_options_after_the_command_override_the_environment(env, capsys, monkeypatch, live_server, alice_test_key):
    monkeypatch.setenv("MONID_API_KEY", "monid_test_not-a-real-key")
    monkeypatch.setenv("MONID_API_BASE_URL", "http://127.0.0.1:9")
    code, out, _ = monid(capsys, "balance", "--api-key", alice_test_key, "--base-url", live_server.url)
    assert code == 0 and json.loads(out)["balance"]["currency"] == "USD"


def test_discover_and_inspect_print_json(env, capsys):
    _, out, _ = monid(capsys, "discover", "enrich a person by email", "--limit", "2")
    found = json.loads(out)
    assert len(found) <= 2 and found[0]["endpoint"] == "/person/enrich"
    _, out, _ = monid(capsys, "inspect", "pdl", "/person/enrich")
    assert json.loads(out)["inputSchema"]["type"] == "object"


def test_runs_list_prints_one_json_object_a_line(env, capsys):
    for _ in range(3):
        monid(capsys, "run", "pdl", "/person/enrich", "--input", MATCH)
    code, out, _ = monid(capsys, "runs", "list", "--limit", "2")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and len(lines) == 2 and all(line["status"] == "COMPLETED" for line in lines)


def test_runs_list_prints_a_json_array_on_request(env, capsys):
    monid(capsys, "run", "pdl", "/person/enrich", "--input", MATCH)
    code, out, _ = monid(capsys, "runs", "list", "--format", "array", "--provider", "apify")
    assert (code, json.loads(out)) == (0, [])


def test_runs_get_and_stop_print_the_run(env, capsys):
    _, out, _ = monid(capsys, "run", "apify", "/apidojo/tweet-scraper", "--input",
                      '{"searchTerms": ["emulator:slow"]}', "--no-wait")
    run_id = json.loads(out)["runId"]
    code, out, _ = monid(capsys, "runs", "stop", run_id)
    assert code == 0 and json.loads(out)["status"] == "STOPPING"
    code, out, _ = monid(capsys, "runs", "get", run_id)
    assert code == 0 and json.loads(out)["status"] == "STOPPING"


def test_runs_get_of_an_unknown_run_is_an_api_error(env, capsys):
    code, _, err = monid(capsys, "runs", "get", "01JABCDEFGHJKMNPQRSTVWXYZ0")
    assert code == 3 and "HTTP 404" in err


def test_help_documents_the_exit_codes_and_the_environment(capsys):
    code, out, _ = monid(capsys, "--help")
    assert code == 0 and "exit codes:" in out and "MONID_API_KEY" in out and "MONID_API_BASE_URL" in out


def test_the_installed_monid_command_runs_an_endpoint(live_server, alice_test_key):
    program = Path(sys.executable).with_name("monid")
    result = subprocess.run([str(program), "run", "pdl", "/person/enrich", "--input", MATCH], capture_output=True,
                            text=True, timeout=60, env={"MONID_API_KEY": alice_test_key,
                                                        "MONID_API_BASE_URL": live_server.url, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["providerResponse"]["httpStatus"] == 200


def test_python_dash_m_monid_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "monid", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("monid ")


def test_the_command_runs_every_catalog_endpoint_on_its_example_with_a_test_key(env, capsys, task_queue):
    accepted = []
    for provider, path, example in catalog_examples():
        code, out, err = monid(capsys, "run", provider, path, "--input", json.dumps(example), "--no-wait")
        assert code == 0, (path, err)
        accepted.append((path, json.loads(out)["runId"]))
    task_queue.run()  # the workers take the async ones
    for path, run_id in accepted:
        code, out, err = monid(capsys, "runs", "get", run_id)
        run = json.loads(out)
        assert (code, run["status"], run["providerResponse"]["httpStatus"]) == (0, "COMPLETED", 200), (path, err)
