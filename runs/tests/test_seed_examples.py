"""The customer's own examples (seed-run-endpoint.txt), unchanged but for the base URL and the key, run as
scripts against a live server while a worker thread executes queued tasks, as `make run`'s worker would."""

import shutil
import subprocess
import sys

import pytest

from runs.models import Run

SEED_PYTHON_EXAMPLE = """import requests
import time

# Start the run
response = requests.post(
    "https://api.monid.ai/v1/run",
    headers={
        "Authorization": "Bearer monid_live_...",
        "Content-Type": "application/json",
    },
    json={
        "provider": "apify",
        "endpoint": "/apidojo/tweet-scraper",
        "input": {
            "searchTerms": ["AI"],
            "maxItems": 10,
        },
    },
)

data = response.json()

if response.status_code == 200:
    # Sync provider -- results returned immediately
    result = data
else:
    # 202 Accepted -- poll for results
    run_id = data["runId"]
    while True:
        result = requests.get(
            f"https://api.monid.ai/v1/runs/{run_id}",
            headers={"Authorization": "Bearer monid_live_..."},
        ).json()
        if result["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(5)

# Check run status vs provider HTTP status
if result["status"] == "FAILED":
    print("Infrastructure error")
elif result.get("providerResponse", {}).get("httpStatus", 200) >= 400:
    print(f"Provider error: HTTP {result['providerResponse']['httpStatus']}")
else:
    print(f"Success: {result.get('output')}")
"""


def run_example(command, code, live_server, key, tmp_path, replacements, suffix=".py"):
    code = code.replace("https://api.monid.ai", live_server.url).replace("monid_live_...", key)
    for old, new in replacements.items():
        assert old in code
        code = code.replace(old, new)
    script = tmp_path / f"example{suffix}"
    script.write_text(code)
    return subprocess.run([command, str(script)], capture_output=True, text=True, timeout=120)


PDL_NO_MATCH = {
    '"provider": "apify"': '"provider": "pdl"',
    '"endpoint": "/apidojo/tweet-scraper"': '"endpoint": "/person/enrich"',
    '"searchTerms": ["AI"],\n            "maxItems": 10,': '"email": "nomatch@example.com",',
}


@pytest.mark.django_db(transaction=True)
def test_the_seeds_python_example_polls_an_apify_run_to_its_tweets(live_server, alice_key, worker, tmp_path):
    result = run_example(sys.executable, SEED_PYTHON_EXAMPLE, live_server, alice_key, tmp_path, {})
    assert result.returncode == 0, result.stderr
    run = Run.objects.get()
    assert (run.status, run.result_count) == ("COMPLETED", 10)
    assert result.stdout.startswith("Success: [{") and run.output[0]["id"] in result.stdout


@pytest.mark.django_db(transaction=True)
def test_the_seeds_python_example_reports_a_pdl_no_match_as_a_provider_error(live_server, alice_key, tmp_path):
    result = run_example(sys.executable, SEED_PYTHON_EXAMPLE, live_server, alice_key, tmp_path, PDL_NO_MATCH)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Provider error: HTTP 404\n"


SEED_TYPESCRIPT_EXAMPLE = """
const response = await fetch("https://api.monid.ai/v1/run", {
  method: "POST",
  headers: {
    "Authorization": "Bearer monid_live_...",
    "Content-Type": "application/json",
  },
  body: JSON.stringify({
    provider: "apify",
    endpoint: "/apidojo/tweet-scraper",
    input: {
      searchTerms: ["AI"],
      maxItems: 10,
    },
  }),
});

const data = await response.json();

if (response.status === 200) {
  // Sync provider (e.g. PDL) -- results returned immediately
  // Check providerResponse.httpStatus for provider-level errors
  console.log(data.output);
} else {
  // 202 Accepted -- poll for results
  const runId = data.runId;
  const poll = async () => {
    const result = await fetch(`https://api.monid.ai/v1/runs/${runId}`, {
      headers: { "Authorization": "Bearer monid_live_..." },
    });
    return result.json();
  };
}
"""


def node():
    """The example has no type annotations, so Node runs it as an ES module with top-level await."""
    path = shutil.which("node")
    if path is None:
        pytest.fail("These tests run the seed's TypeScript example with Node.js 18 or newer: install nodejs.")
    return path


@pytest.mark.django_db(transaction=True)
def test_the_seeds_typescript_example_starts_an_apify_run(live_server, alice_key, tmp_path):
    result = run_example(node(), SEED_TYPESCRIPT_EXAMPLE, live_server, alice_key, tmp_path, {}, ".mjs")
    assert result.returncode == 0, result.stderr
    run = Run.objects.get()
    assert (run.endpoint.path, run.status, run.input) == (
        "/apidojo/tweet-scraper",
        "RUNNING",
        {"searchTerms": ["AI"], "maxItems": 10},
    )


@pytest.mark.django_db(transaction=True)
def test_the_seeds_typescript_example_prints_a_sync_pdl_result(live_server, alice_key, tmp_path):
    result = run_example(
        node(),
        SEED_TYPESCRIPT_EXAMPLE,
        live_server,
        alice_key,
        tmp_path,
        {
            'provider: "apify"': 'provider: "pdl"',
            'endpoint: "/apidojo/tweet-scraper"': 'endpoint: "/person/enrich"',
            'searchTerms: ["AI"],\n      maxItems: 10,': 'email: "sean@example.com",',
        },
        ".mjs",
    )
    assert result.returncode == 0, result.stderr
    assert "work_email: 'sean@example.com'" in result.stdout
