"""What issue 7 promises an AI agent: with only a key and the base URL, it finds each starter endpoint by
describing what it wants, learns its input and price, runs it, and polls it to the end, over real HTTP."""

import time

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)

# What an agent might ask for, and the endpoint it must be offered first.
WANTS = [
    ("enrich a person by email", "pdl", "/person/enrich"),
    ("search for people by job title and company", "pdl", "/person/search"),
    ("identify a person from a name and a company", "pdl", "/person/identify"),
    ("company data", "pdl", "/company/enrich"),
    ("twitter posts", "apify", "/apidojo/tweet-scraper"),
    ("crawl a website and extract its text", "tavily", "/crawl"),
    ("places on google maps with opening hours", "apify", "/compass/crawler-google-places"),
    ("instagram posts of a profile", "apify", "/apify/instagram-scraper"),
]


@pytest.mark.parametrize("want, provider, endpoint", WANTS)
def test_an_agent_discovers_inspects_runs_and_polls_each_starter_endpoint(
    live_server, alice_test_key, task_queue, want, provider, endpoint
):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {alice_test_key}"
    base = f"{live_server.url}/v1"

    found = api.post(f"{base}/discover", json={"query": want}, timeout=10).json()
    first = found["results"][0]
    assert (first["provider"], first["endpoint"]) == (provider, endpoint), found

    card = api.post(f"{base}/inspect", json={"provider": provider, "endpoint": endpoint}, timeout=10).json()
    assert card["price"]["currency"] == "USD" and card["inputSchema"]["type"] == "object"
    example = card["inputSchema"]["examples"][0]  # what the schema itself offers as a valid input

    started = api.post(f"{base}/run", json={"provider": provider, "endpoint": endpoint, "input": example}, timeout=30)
    assert started.status_code in (200, 202), started.text
    run = started.json()
    for _ in range(20):
        if run["status"] not in ("READY", "RUNNING", "STOPPING"):
            break
        task_queue.run()  # the workers, which a deployment runs beside the web server
        time.sleep(0.05)
        run = api.get(f"{base}/runs/{run['runId']}", timeout=10).json()
    assert run["status"] == "COMPLETED" and run["providerResponse"]["httpStatus"] == 200, run
    assert run["output"] and run["resultCount"] >= 1
