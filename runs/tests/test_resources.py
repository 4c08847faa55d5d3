"""GET /v1/resources: this server provisions no resources, so Monid's CLI is told there are none; the filters it
sends are checked as on every list, and asking after one resource says there is none."""

import pytest

pytestmark = pytest.mark.django_db


def get(client, url, key):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_the_list_is_empty_with_no_next_page(client, alice_key):
    response = get(client, "/v1/resources", alice_key)
    assert response.status_code == 200
    assert response.json() == {"items": [], "cursor": None}


def test_a_test_key_gets_the_same_empty_list(client, alice_test_key):
    assert get(client, "/v1/resources", alice_test_key).json() == {"items": [], "cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        "provider=twilio",
        "provider=twilio&resourceType=phone_number",
        "state=ACTIVE",
        "state=PROVISION_FAILED",
        "limit=100",
        "limit=1&state=RELEASED",
        "cursor=",
        "provider=twilio&resourceType=phone_number&state=READY&limit=5",
    ],
)
def test_it_accepts_every_filter_the_cli_sends(client, alice_key, query):
    response = get(client, f"/v1/resources?{query}", alice_key)
    assert (response.status_code, response.json()) == (200, {"items": [], "cursor": None})


@pytest.mark.parametrize(
    "query, says",
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("state=active", "state"),
        ("resourceType=phone_number", "resourceType"),
        ("cursor=abc", "cursor"),
    ],
)
def test_it_refuses_a_bad_filter_with_a_400_naming_it(client, alice_key, query, says):
    response = get(client, f"/v1/resources?{query}", alice_key)
    assert (response.status_code, response.json()["code"]) == (400, 400)
    assert says in response.json()["message"]


@pytest.mark.parametrize(
    "method, path", [("get", ""), ("get", "/events"), ("get", "/external/console"), ("post", "/release")]
)
def test_one_resource_is_a_404_saying_there_are_none(client, alice_key, method, path):
    response = getattr(client, method)(f"/v1/resources/res_1{path}", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
    assert response.json() == {
        "code": 404,
        "message": "There is no resource 'res_1': this server provisions no resources (phone numbers and the like), "
        "so GET /v1/resources is always empty.",
    }


@pytest.mark.parametrize("method, path", [("post", ""), ("post", "/events"), ("get", "/release")])
def test_another_method_on_one_resource_is_a_405(client, alice_key, method, path):
    response = getattr(client, method)(f"/v1/resources/res_1{path}", HTTP_AUTHORIZATION=f"Bearer {alice_key}")
    assert (response.status_code, response.json()["code"]) == (405, 405)
