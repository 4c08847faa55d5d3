import json

import pytest

pytestmark = pytest.mark.django_db


def post_run(client, key, email):
    body = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}}
    return client.post(
        "/v1/run", data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    ).json()["runId"]


def get(client, key, url, **params):
    return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_another_workspaces_run_is_not_found(client, alice_key, bob_key):
    run_id = post_run(client, alice_key, "sean@example.com")
    response = get(client, bob_key, f"/v1/runs/{run_id}")
    assert response.status_code == 404
    assert response.json()["code"] == 404
    assert get(client, alice_key, f"/v1/runs/{run_id}").status_code == 200


def test_an_unknown_run_is_not_found(client, alice_key):
    response = get(client, alice_key, "/v1/runs/01HXYZ1234567890ABCDEFGHJK")
    assert (response.status_code, response.json()["code"]) == (404, 404)


def test_the_run_detail_route_needs_a_key(client, alice_key):
    run_id = post_run(client, alice_key, "sean@example.com")
    assert client.get(f"/v1/runs/{run_id}").status_code == 401
    assert client.get("/v1/runs").status_code == 401


def test_runs_are_listed_newest_first_in_pages_that_end_with_a_null_cursor(client, alice_key):
    ids = [post_run(client, alice_key, f"p{i}@example.com") for i in range(5)]
    first = get(client, alice_key, "/v1/runs", limit=2).json()
    assert [item["runId"] for item in first["items"]] == ids[::-1][:2]
    assert "input" not in first["items"][0] and "output" not in first["items"][0]
    second = get(client, alice_key, "/v1/runs", limit=2, cursor=first["cursor"]).json()
    third = get(client, alice_key, "/v1/runs", limit=2, cursor=second["cursor"]).json()
    assert [item["runId"] for item in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["cursor"] is None


def test_a_full_last_page_has_no_cursor_to_an_empty_page(client, alice_key):
    for i in range(2):
        post_run(client, alice_key, f"p{i}@example.com")
    assert get(client, alice_key, "/v1/runs", limit=2).json()["cursor"] is None


def test_a_page_stays_correct_while_new_runs_arrive(client, alice_key):
    ids = [post_run(client, alice_key, f"p{i}@example.com") for i in range(3)]
    first = get(client, alice_key, "/v1/runs", limit=2).json()
    post_run(client, alice_key, "late@example.com")
    second = get(client, alice_key, "/v1/runs", limit=2, cursor=first["cursor"]).json()
    assert [item["runId"] for item in second["items"]] == [ids[0]]


def test_the_list_shows_only_the_callers_workspace_and_filters_by_status(client, alice_key, bob_key):
    mine = post_run(client, alice_key, "sean@example.com")
    post_run(client, bob_key, "bob@example.com")
    assert [i["runId"] for i in get(client, alice_key, "/v1/runs").json()["items"]] == [mine]
    assert get(client, alice_key, "/v1/runs", status="FAILED").json()["items"] == []
    assert len(get(client, alice_key, "/v1/runs", provider="pdl", endpoint="/person/enrich").json()["items"]) == 1


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"cursor": "garbage!"},
        {"cursor": "bm90LWEtdWxpZA"},
        {"status": "DONE"},
    ],
)
def test_bad_list_parameters_are_a_400(client, alice_key, params):
    response = get(client, alice_key, "/v1/runs", **params)
    assert response.status_code == 400
    assert response.json()["code"] == 400
