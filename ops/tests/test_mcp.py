"""The MCP server at /mcp, driven by the MCP SDK's own client over real HTTP against the live server: the /v1 API as
tools, with the same keys, workspaces, answers and errors."""

import json

import httpx2
import pytest
import requests
from django.core.cache import cache
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client

from billing.api_keys import api_key_revoke
from billing.models import ApiKey
from conftest import catalog_examples
from ops import mcp_server
from ops.tests.mcp_session import in_own_thread, mcp_calls
from providers.models import Endpoint
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

# Each tool's arguments, named as Monid's tools name them (mcp_server's docstring says where those names come from).
TOOLS = {
    "monid_discover": {"query", "limit", "minScore", "includeUnavailable", "workspaceId"},
    "monid_inspect": {"provider", "endpoint", "workspaceId"},
    "monid_run": {"provider", "endpoint", "input", "waitSeconds", "workspaceId"},
    "monid_get_run": {"runId", "workspaceId"},
    "monid_list_runs": {"status", "provider", "endpoint", "limit", "cursor", "workspaceId"},
    "monid_stop_run": {"runId", "workspaceId"},
    "monid_balance": {"workspaceId"},
    "monid_list_workspaces": set(),
}
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}
TWEETS = {"provider": "apify", "endpoint": "/apidojo/tweet-scraper", "input": {"searchTerms": ["AI"], "maxItems": 3}}
NEVER_ENDS = {**TWEETS, "input": {"searchTerms": ["emulator:slow"], "maxItems": 3}}


def call(live_server, key, name, arguments=None):
    """One tool call: (whether it is a tool error, the JSON it answered)."""
    [result] = mcp_calls(live_server, key, (name, arguments or {}))
    return result.is_error, json.loads(result.content[0].text)


@pytest.fixture
def no_waiting(monkeypatch):
    """monid_run's waits for an async run are recorded, not slept."""
    waits = []
    monkeypatch.setattr(mcp_server, "_sleep", waits.append)
    return waits


def test_it_lists_eight_tools_with_monids_arguments_and_descriptions_and_only_monid_run_spends(
    live_server, alice_test_key
):
    async def tools():
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_test_key}"}) as http,
            streamable_http_client(f"{live_server.url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as client,
        ):
            initialized = await client.initialize()
            return initialized, (await client.list_tools()).tools

    initialized, tools = in_own_thread(tools)
    assert initialized.server_info.name == "monid" and "monid_discover" in initialized.instructions
    assert {tool.name: set(tool.input_schema["properties"]) for tool in tools} == TOOLS
    for tool in tools:
        assert tool.input_schema["type"] == "object" and len(tool.description) > 100, tool.name
        for name, schema in tool.input_schema["properties"].items():
            assert schema.get("description"), (tool.name, name)
        spends = "money" in tool.description.lower() or "spend" in tool.description.lower()
        assert spends == (tool.name == "monid_run"), tool.name
    tools = {tool.name: tool for tool in tools}
    run = tools["monid_run"]
    assert run.input_schema["required"] == ["provider", "endpoint"]
    wait = run.input_schema["properties"]["waitSeconds"]
    assert (wait["default"], wait["minimum"], wait["maximum"]) == (0, 0, mcp_server.MAX_WAIT_SECONDS)
    assert "monid_test_" in run.description and "TIME_OUT" in run.description and not run.annotations.read_only_hint
    assert all(tools[name].annotations.read_only_hint for name in ("monid_balance", "monid_list_workspaces"))
    get_run = tools["monid_get_run"]
    assert get_run.input_schema["required"] == ["runId"] and "TIME_OUT" in get_run.description
    discover = tools["monid_discover"]
    assert discover.input_schema["required"] == ["query"]
    assert {
        name: (schema["default"], schema.get("minimum"), schema.get("maximum"), schema["type"])
        for name, schema in discover.input_schema["properties"].items()
        if name not in ("query", "workspaceId")
    } == {
        "limit": (5, 1, 50, "integer"),
        "minScore": (0, 0, 1, "number"),
        "includeUnavailable": (False, None, None, "boolean"),
    }
    assert "metrics" in discover.description and "hints" in discover.description
    assert all(word in tools["monid_inspect"].description for word in ("input", "pathParams", "metrics", "hints"))


def test_the_sdks_own_client_on_the_newer_protocol_gets_the_same_tools(live_server, alice_test_key):
    async def run():
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {alice_test_key}"}, timeout=60) as http,
            Client(streamable_http_client(f"{live_server.url}/mcp", http_client=http)) as client,
        ):
            tools = (await client.list_tools()).tools
            return client.session.protocol_version, tools, await client.call_tool("monid_run", PDL_MATCH)

    version, tools, result = in_own_thread(run)

    assert version >= "2026" and {tool.name for tool in tools} == set(TOOLS)  # no initialize handshake here
    assert not result.is_error and json.loads(result.content[0].text)["status"] == "COMPLETED"


def test_it_refuses_a_bad_key_before_any_mcp_session(live_server, alice_test_key):
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    for authorization in ("", "Bearer monid_test_not-a-real-key", "Basic abc"):
        response = requests.post(
            f"{live_server.url}/mcp",
            json=initialize,
            timeout=10,
            headers={**headers, **({"Authorization": authorization} if authorization else {})},
        )
        assert response.status_code == 401, authorization
        assert response.json()["code"] == 401 and response.json()["message"]
        assert "mcp-session-id" not in response.headers and response.headers["x-request-id"]


def test_it_refuses_a_revoked_key(live_server, alice_test_key):
    api_key_revoke(api_key=ApiKey.objects.get(label="alice-test"))

    response = requests.post(
        f"{live_server.url}/mcp", json={}, headers={"Authorization": f"Bearer {alice_test_key}"}, timeout=10
    )

    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "message": "This API key is not valid or has been revoked. Create a new one in the dashboard.",
    }


def test_it_offers_no_event_stream_to_hold_open(live_server, alice_test_key):
    response = requests.get(
        f"{live_server.url}/mcp",
        headers={"Authorization": f"Bearer {alice_test_key}", "Accept": "text/event-stream"},
        timeout=10,
    )

    assert response.status_code == 405
    assert response.json()["code"] == 405


def test_each_tool_call_counts_against_the_keys_rate_limit(live_server, alice_test_key, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 2
    discover = ("monid_discover", {"query": "company data"})

    results = mcp_calls(live_server, alice_test_key, discover, discover, discover)

    assert [result.is_error for result in results] == [False, False, True]
    assert json.loads(results[2].content[0].text)["code"] == 429


def test_a_bug_is_a_tool_error_that_names_the_request_id(live_server, alice_test_key, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("runs.api.run_get_for_key", broken)

    [result] = mcp_calls(
        live_server,
        alice_test_key,
        ("monid_get_run", {"runId": "01J00000000000000000000000"}),
        headers={"x-request-id": "agent-request-7"},
    )

    assert result.is_error
    body = json.loads(result.content[0].text)
    assert body["code"] == 500 and "agent-request-7" in body["message"] and "a bug" not in body["message"]


def test_discover_and_inspect_answer_as_the_api_does(live_server, alice_test_key):
    found, card = mcp_calls(
        live_server,
        alice_test_key,
        ("monid_discover", {"query": "enrich a person by email", "limit": 3}),
        ("monid_inspect", {"provider": "pdl", "endpoint": "/person/enrich"}),
    )

    assert not found.is_error and not card.is_error
    found, card = json.loads(found.content[0].text), json.loads(card.content[0].text)
    assert found["count"] == len(found["results"]) <= 3
    assert (found["results"][0]["provider"], found["results"][0]["endpoint"]) == ("pdl", "/person/enrich")
    assert card["inputSchema"]["type"] == "object" and card["price"]["currency"] == "USD"
    assert (
        card
        == requests.post(
            f"{live_server.url}/v1/inspect",
            headers={"Authorization": f"Bearer {alice_test_key}"},
            json={"provider": "pdl", "endpoint": "/person/enrich"},
            timeout=10,
        ).json()
    )


def test_discover_leaves_out_the_results_under_min_score(live_server, alice_test_key):
    query = {"query": "twitter posts", "limit": 50}

    every, kept = mcp_calls(
        live_server, alice_test_key, ("monid_discover", query), ("monid_discover", {**query, "minScore": 0.5})
    )

    every, kept = json.loads(every.content[0].text), json.loads(kept.content[0].text)
    assert 0 < kept["count"] < every["count"]
    assert kept["results"] == [result for result in every["results"] if result["score"] >= 0.5]


def test_discover_answers_an_endpoint_in_outage_only_with_include_unavailable(
    live_server, alice_test_key, tweets_in_outage
):
    query = {"query": "twitter posts", "limit": 50}

    available, every = mcp_calls(
        live_server,
        alice_test_key,
        ("monid_discover", query),
        ("monid_discover", {**query, "includeUnavailable": True}),
    )

    available, every = json.loads(available.content[0].text), json.loads(every.content[0].text)
    assert "/apidojo/tweet-scraper" not in [result["endpoint"] for result in available["results"]]
    assert every["results"][-1]["endpoint"] == "/apidojo/tweet-scraper"
    assert every["results"][-1]["metrics"] == {"status": "outage", "runTimeMs": {"p50": 700, "p95": 900}}
    assert (
        every
        == requests.post(
            f"{live_server.url}/v1/discover",
            timeout=10,
            headers={"Authorization": f"Bearer {alice_test_key}"},
            json={**query, "includeUnavailable": True},
        ).json()
    )


def test_an_unknown_endpoint_is_a_tool_error_with_the_apis_message(live_server, alice_test_key):
    is_error, body = call(live_server, alice_test_key, "monid_inspect", {"provider": "pdl", "endpoint": "/nope"})

    assert is_error
    assert body["code"] == 404 and "/nope" in body["message"]


def test_a_sync_run_answers_the_finished_run_at_once(live_server, alice_test_key, no_waiting):
    is_error, run = call(live_server, alice_test_key, "monid_run", PDL_MATCH)

    assert not is_error
    assert run["status"] == "COMPLETED" and run["providerResponse"]["httpStatus"] == 200
    assert run["output"] and run["testMode"] and run["billing"]["reportedCost"]["value"] == 0
    assert no_waiting == []
    assert Run.objects.get(pk=run["runId"]).status == Run.Status.COMPLETED


def test_input_may_come_in_the_parts_monid_inspect_lays_out(live_server, alice_test_key):
    is_error, run = call(
        live_server, alice_test_key, "monid_run", {**PDL_MATCH, "input": {"queryParams": PDL_MATCH["input"]}}
    )

    assert not is_error
    assert run["status"] == "COMPLETED" and run["providerResponse"]["httpStatus"] == 200
    assert run["input"] == {"queryParams": {"email": "sean@example.com"}}


def test_input_left_out_is_an_empty_one(live_server, alice_test_key):
    Endpoint.objects.filter(path="/person/enrich").update(input_schema={"type": "object"})

    is_error, run = call(live_server, alice_test_key, "monid_run", {"provider": "pdl", "endpoint": "/person/enrich"})

    assert not is_error
    assert run["status"] == "COMPLETED" and run["input"] == {}


def test_input_that_fails_the_schema_is_a_tool_error_with_the_failing_path(live_server, alice_test_key):
    is_error, body = call(live_server, alice_test_key, "monid_run", {**PDL_MATCH, "input": {"email": 5}})

    assert is_error
    assert body["code"] == 400 and body["details"][0]["path"].startswith("input")
    assert not Run.objects.exists()


def test_an_input_over_the_endpoints_bound_is_a_413_tool_error_and_makes_no_run(live_server, alice_test_key):
    big = {**PDL_MATCH, "input": {"email": "sean@example.com", "name": "x" * 70_000}}
    is_error, body = call(live_server, alice_test_key, "monid_run", big)

    assert is_error
    assert body["code"] == 413 and "pdl /person/enrich takes at most 65,536 bytes" in body["message"]
    assert not Run.objects.exists()


def test_an_async_run_is_answered_at_once_with_its_run_id(live_server, alice_test_key, no_waiting):
    is_error, started = call(live_server, alice_test_key, "monid_run", TWEETS)

    assert not is_error
    assert started.keys() == {"runId", "provider", "endpoint", "status", "price", "createdAt", "hints"}  # the 202's
    assert started["hints"] == {"next": f"monid runs get -r {started['runId']} -w"}
    assert (started["provider"], started["endpoint"], started["status"]) == ("apify", TWEETS["endpoint"], "RUNNING")
    assert no_waiting == []
    assert Run.objects.get(pk=started["runId"]).status not in Run.TERMINAL


def test_an_async_run_answered_running_is_followed_with_monid_get_run(live_server, alice_test_key, task_queue):
    is_error, started = call(live_server, alice_test_key, "monid_run", TWEETS)
    assert not is_error and started["status"] == "RUNNING"

    task_queue.run()  # the workers, which a deployment runs beside the web server

    is_error, run = call(live_server, alice_test_key, "monid_get_run", {"runId": started["runId"]})
    assert not is_error
    assert run["status"] == "COMPLETED" and run["resultCount"] == 3 and len(run["output"]) == 3


def test_monid_run_with_wait_seconds_waits_for_an_async_run_to_end(
    live_server, alice_test_key, task_queue, monkeypatch
):
    waits = []
    monkeypatch.setattr(mcp_server, "_sleep", lambda seconds: (waits.append(seconds), task_queue.run()))

    is_error, run = call(live_server, alice_test_key, "monid_run", {**TWEETS, "waitSeconds": 10})

    assert not is_error
    assert run["status"] == "COMPLETED" and len(run["output"]) == 3
    assert waits == [mcp_server.POLL_SECONDS]  # looked again once the workers had run, and found it ended


def test_a_wait_that_runs_out_answers_the_run_id_to_poll(live_server, alice_test_key, no_waiting):
    is_error, run = call(live_server, alice_test_key, "monid_run", {**NEVER_ENDS, "waitSeconds": 2})

    assert not is_error
    assert run["status"] == "RUNNING" and run["runId"] and run["stoppable"]
    assert no_waiting == [mcp_server.POLL_SECONDS] * 4


def test_a_key_may_have_only_so_many_runs_waiting_at_once(live_server, alice_test_key, no_waiting, settings):
    settings.MONID_MCP_WAITS_PER_KEY = 1
    slot = f"monid:mcp-waits:{ApiKey.objects.get(label='alice-test').pk}"
    cache.set(slot, 1)  # another monid_run of this key is waiting, in some process

    is_error, body = call(live_server, alice_test_key, "monid_run", {**NEVER_ENDS, "waitSeconds": 2})
    assert is_error and body["code"] == 429 and "already has 1 monid_run calls waiting" in body["message"]
    assert not Run.objects.exists() and no_waiting == []
    is_error, run = call(live_server, alice_test_key, "monid_run", NEVER_ENDS)
    assert not is_error and run["status"] == "RUNNING"  # not waiting needs no slot

    cache.set(slot, 0)  # that one answered
    is_error, run = call(live_server, alice_test_key, "monid_run", {**NEVER_ENDS, "waitSeconds": 2})
    assert not is_error and no_waiting == [mcp_server.POLL_SECONDS] * 4
    assert cache.get(slot) == 0  # given back


def test_each_second_of_waiting_counts_against_the_keys_rate_limit(live_server, alice_test_key, no_waiting, settings):
    settings.MONID_RATE_LIMIT_PER_MINUTE = 5
    discover = ("monid_discover", {"query": "company data"})
    # The run's creation and its answer are two requests, its two seconds of waiting two more.
    results = mcp_calls(
        live_server, alice_test_key, ("monid_run", {**NEVER_ENDS, "waitSeconds": 2}), discover, discover
    )
    assert [result.is_error for result in results] == [False, False, True]
    assert json.loads(results[2].content[0].text)["code"] == 429


def test_a_wait_past_the_bound_is_refused(live_server, alice_test_key):
    [result] = mcp_calls(live_server, alice_test_key, ("monid_run", {**TWEETS, "waitSeconds": 3600}))

    assert result.is_error and "waitSeconds" in result.content[0].text
    assert not Run.objects.exists()


def test_list_runs_filters_and_pages_as_the_api_does(live_server, alice_test_key, task_queue):
    first, second, tweets = mcp_calls(
        live_server, alice_test_key, ("monid_run", PDL_MATCH), ("monid_run", PDL_MATCH), ("monid_run", TWEETS)
    )
    newest_pdl = json.loads(second.content[0].text)["runId"]

    is_error, page = call(live_server, alice_test_key, "monid_list_runs", {"provider": "pdl", "limit": 1})
    assert not is_error
    assert [run["runId"] for run in page["items"]] == [newest_pdl] and page["cursor"]
    assert "output" not in page["items"][0]
    is_error, page = call(
        live_server, alice_test_key, "monid_list_runs", {"provider": "pdl", "limit": 1, "cursor": page["cursor"]}
    )
    assert [run["runId"] for run in page["items"]] == [json.loads(first.content[0].text)["runId"]]
    assert page["cursor"] is None
    is_error, page = call(live_server, alice_test_key, "monid_list_runs", {"status": "RUNNING"})
    assert [run["runId"] for run in page["items"]] == [json.loads(tweets.content[0].text)["runId"]]


def test_a_bad_cursor_is_a_tool_error(live_server, alice_test_key):
    is_error, body = call(live_server, alice_test_key, "monid_list_runs", {"cursor": "forged"})

    assert is_error and body["code"] == 400


def test_stopping_a_run_answers_stopping_and_it_ends_stopped(live_server, alice_test_key, task_queue):
    _, run = call(live_server, alice_test_key, "monid_run", NEVER_ENDS)
    task_queue.run(checks=1)  # started at the provider, which never finishes it

    is_error, stopping = call(live_server, alice_test_key, "monid_stop_run", {"runId": run["runId"]})
    assert not is_error and stopping["status"] == "STOPPING" and stopping["runId"] == run["runId"]
    task_queue.run()

    _, stopped = call(live_server, alice_test_key, "monid_get_run", {"runId": run["runId"]})
    assert stopped["status"] == "STOPPED"
    is_error, again = call(live_server, alice_test_key, "monid_stop_run", {"runId": run["runId"]})
    assert is_error and again["code"] == 409


def test_list_workspaces_answers_the_keys_workspace_alone(live_server, alice_test_key, bob_key):
    is_error, alices = call(live_server, alice_test_key, "monid_list_workspaces")
    _, bobs = call(live_server, bob_key, "monid_list_workspaces")

    assert not is_error
    assert alices == {"workspaces": [{"workspaceId": "acme", "name": "Acme", "slug": "acme"}]}
    assert (
        alices
        == requests.get(
            f"{live_server.url}/v1/auth/workspaces", timeout=10, headers={"Authorization": f"Bearer {alice_test_key}"}
        ).json()
    )
    assert bobs == {"workspaces": [{"workspaceId": "globex", "name": "Globex", "slug": "globex"}]}


def test_a_tool_may_name_the_keys_own_workspace_and_no_other(live_server, alice_test_key, bob):
    own, other, unknown = mcp_calls(
        live_server,
        alice_test_key,
        ("monid_run", {**PDL_MATCH, "workspaceId": "acme"}),
        ("monid_run", {**PDL_MATCH, "workspaceId": "globex"}),
        ("monid_balance", {"workspaceId": "nope"}),
    )

    assert not own.is_error and json.loads(own.content[0].text)["status"] == "COMPLETED"
    for result, named in ((other, "globex"), (unknown, "nope")):  # another's and none are refused alike
        body = json.loads(result.content[0].text)
        assert result.is_error and body["code"] == 403
        assert body["message"] == (
            f"This key acts in its own workspace only, 'acme' (see monid_list_workspaces), "
            f"not in '{named}'. Leave workspaceId out, or use a key of that workspace."
        )
    assert Run.objects.count() == 1


def test_balance_answers_the_wallet(live_server, alice_key):
    is_error, wallet = call(live_server, alice_key, "monid_balance")

    assert not is_error
    assert wallet == {"balance": {"value": 100.0, "currency": "USD"}, "held": {"value": 0.0, "currency": "USD"}}


def test_a_live_run_is_charged_to_the_wallet(live_server, alice_key):
    _, run = call(live_server, alice_key, "monid_run", PDL_MATCH)
    _, wallet = call(live_server, alice_key, "monid_balance")

    assert run["status"] == "COMPLETED" and run["cost"]["value"] > 0
    assert wallet["balance"]["value"] == pytest.approx(100.0 - run["cost"]["value"])


def test_another_workspaces_run_is_not_found(live_server, alice_test_key, bob_key):
    _, run = call(live_server, alice_test_key, "monid_run", NEVER_ENDS)

    for tool in ("monid_get_run", "monid_stop_run"):
        is_error, body = call(live_server, bob_key, tool, {"runId": run["runId"]})
        assert is_error, tool
        assert body["code"] == 404 and "No run" in body["message"]
    _, page = call(live_server, bob_key, "monid_list_runs")
    assert page["items"] == []
    assert Run.objects.get(pk=run["runId"]).status == Run.Status.RUNNING


def test_monid_run_runs_every_catalog_endpoint_on_its_example_with_a_test_key(live_server, alice_test_key, task_queue):
    examples = catalog_examples()
    started = mcp_calls(
        live_server,
        alice_test_key,
        *(
            ("monid_run", {"provider": provider, "endpoint": path, "input": example})
            for provider, path, example in examples
        ),
    )
    task_queue.run()
    runs = [json.loads(result.content[0].text) for result in started]
    ended = mcp_calls(live_server, alice_test_key, *(("monid_get_run", {"runId": run["runId"]}) for run in runs))
    for (provider, path, _), result in zip(examples, ended, strict=True):
        run = json.loads(result.content[0].text)
        assert (result.is_error, run["status"], run["providerResponse"]) == (False, "COMPLETED", {"httpStatus": 200}), (
            provider,
            path,
            run,
        )
