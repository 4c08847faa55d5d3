"""The customer's own Python example (seed-run-endpoint.txt), unchanged but for the base URL and the key,
run against a live server; its sleep between polls lets the worker take a step instead of waiting."""

import types

import pytest
import requests

SEED_PYTHON_EXAMPLE = '''
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
'''


def run_seed_example(live_server, key, task_queue, **replacements):
    code = SEED_PYTHON_EXAMPLE.replace("https://api.monid.ai", live_server.url).replace("monid_live_...", key)
    for old, new in replacements.items():
        code = code.replace(old, new)
    printed = []
    namespace = {"requests": requests, "print": printed.append,
                 "time": types.SimpleNamespace(sleep=lambda seconds: task_queue.run())}
    exec(code, namespace)
    return namespace["result"], printed


@pytest.mark.django_db(transaction=True)
def test_the_seeds_python_example_polls_an_apify_run_to_its_tweets(live_server, alice_key, task_queue):
    result, printed = run_seed_example(live_server, alice_key, task_queue)
    assert result["status"] == "COMPLETED"
    assert len(result["output"]) == 10
    assert printed == [f"Success: {result['output']}"]


@pytest.mark.django_db(transaction=True)
def test_the_seeds_python_example_reports_a_pdl_no_match_as_a_provider_error(live_server, alice_key, task_queue):
    result, printed = run_seed_example(live_server, alice_key, task_queue, **{
        '"provider": "apify"': '"provider": "pdl"',
        '"endpoint": "/apidojo/tweet-scraper"': '"endpoint": "/person/enrich"',
        '"searchTerms": ["AI"],\n            "maxItems": 10,': '"email": "nomatch@example.com",'})
    assert result["status"] == "COMPLETED"
    assert printed == ["Provider error: HTTP 404"]
