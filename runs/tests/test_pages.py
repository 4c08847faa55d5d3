import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billing.models import ApiKey
from monid_site.templatetags.monid import dollars, http_class, status_class
from providers.models import Endpoint
from runs.models import Run

pytestmark = pytest.mark.django_db


def api_run(key, email):
    """A PDL run made through the real API, as a customer's program would make it."""
    response = Client().post(
        "/v1/run",
        data=json.dumps({"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": email}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 200, response.content
    return Run.objects.get(pk=response.json()["runId"])


def stored_runs(label, count):
    """Many runs at once, built directly, for pagination."""
    api_key = ApiKey.objects.get(label=label)
    endpoint = Endpoint.objects.get(provider__slug="pdl", path="/person/enrich")
    return Run.objects.bulk_create(
        Run(
            workspace=api_key.workspace,
            api_key=api_key,
            endpoint=endpoint,
            input={"n": n},
            status="COMPLETED",
            price_type="PER_CALL",
            price_micros=3000,
        )
        for n in range(count)
    )


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/runs/", "/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/", "/keys/", "/keys/x/revoke/", "/costs/"])
def test_pages_send_visitors_who_are_not_logged_in_to_the_login_page(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_home_redirects_to_the_runs_page(client, alice):
    response = logged_in(client, alice).get("/")

    assert response.status_code == 302
    assert response["Location"] == "/runs/"


def test_a_customer_logs_in_with_a_password_and_lands_on_home(client, alice):
    page = client.get("/login/")
    response = client.post("/login/", {"username": "alice", "password": "alice-pass-1"})

    assert page.status_code == 200
    assert b'name="password"' in page.content
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_error_on_the_login_page(client, alice):
    response = client.post("/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


def test_the_nav_has_a_logout_form_that_posts(client, alice):
    response = logged_in(client, alice).get("/runs/")
    logout = client.post("/logout/")

    assert b'<form class="who" method="post" action="/logout/">' in response.content
    assert b"alice" in response.content
    assert logout.status_code == 302
    assert client.get("/runs/").status_code == 302


def test_a_customer_nav_shows_runs_and_keys_but_not_costs_or_admin(client, alice):
    response = logged_in(client, alice).get("/runs/")

    assert b'href="/keys/"' in response.content
    assert b'href="/costs/"' not in response.content
    assert b'href="/admin/"' not in response.content


def test_an_operator_nav_shows_runs_costs_and_admin(client, operator):
    response = logged_in(client, operator).get("/runs/")

    assert b'href="/costs/"' in response.content
    assert b'href="/admin/"' in response.content


def test_a_customer_sees_their_workspace_runs_and_not_another_workspaces(client, alice, alice_key, bob_key):
    mine, theirs = api_run(alice_key, "sean@example.com"), api_run(bob_key, "sean@example.com")

    response = logged_in(client, alice).get("/runs/")

    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/runs/{mine.id}/"' in body
    assert theirs.id not in body
    assert "alice-live" in body and "$0.003000" in body
    assert "<th>Workspace</th>" not in body


def test_a_customer_gets_404_for_another_workspaces_run(client, alice, bob_key):
    theirs = api_run(bob_key, "sean@example.com")

    response = logged_in(client, alice).get(f"/runs/{theirs.id}/")

    assert response.status_code == 404
    assert theirs.id.encode() not in response.content


def test_an_unknown_run_is_404(client, alice):
    assert logged_in(client, alice).get("/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/").status_code == 404


def test_an_operator_sees_every_workspaces_runs_with_the_workspace(client, operator, alice_key, bob_key):
    runs = [api_run(alice_key, "sean@example.com"), api_run(bob_key, "sean@example.com")]

    response = logged_in(client, operator).get("/runs/")
    detail = client.get(f"/runs/{runs[1].id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert all(run.id in body for run in runs)
    assert "<td>acme</td>" in body and "<td>globex</td>" in body
    assert detail.status_code == 200


def test_a_customer_without_a_workspace_is_told_why_there_are_no_runs(client, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="loner-pass-1")

    response = logged_in(client, loner).get("/runs/")

    assert response.status_code == 200
    assert b"does not belong to a workspace" in response.content


def test_the_run_list_is_newest_first_and_pages_back_with_older_runs(client, alice, alice_key):
    runs = stored_runs("alice-live", 53)
    newest_first = sorted((run.id for run in runs), reverse=True)

    first = logged_in(client, alice).get("/runs/")
    older_link = re.search(r'href="/runs/\?before=([0-9A-Z]{26})"', first.content.decode())
    second = client.get(f"/runs/?before={older_link[1]}")

    assert first.status_code == 200 and second.status_code == 200
    first_ids = re.findall(r'href="/runs/([0-9A-Z]{26})/"', first.content.decode())
    second_ids = re.findall(r'href="/runs/([0-9A-Z]{26})/"', second.content.decode())
    assert first_ids == newest_first[:50]
    assert older_link[1] == newest_first[49]
    assert second_ids == newest_first[50:]
    assert b"Older runs" not in second.content


@pytest.mark.parametrize("before", ["nonsense", "'; DROP TABLE runs_run; --", "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "é" * 26])
def test_a_bad_before_parameter_is_a_400_not_a_500(client, alice, before):
    response = logged_in(client, alice).get("/runs/", {"before": before})

    assert response.status_code == 400
    assert b"must be a run id" in response.content


def test_the_run_list_makes_the_same_number_of_queries_for_one_run_or_many(client, operator, alice_key):
    logged_in(client, operator)
    stored_runs("alice-live", 1)
    with CaptureQueriesContext(connection) as one:
        client.get("/runs/")
    stored_runs("alice-live", 20)
    with CaptureQueriesContext(connection) as many:
        client.get("/runs/")

    assert len(one) == len(many)


def test_a_run_page_shows_the_output_result_count_and_the_three_costs(client, alice, alice_key):
    Endpoint.objects.filter(path="/person/enrich").update(credit_cost_micros=1250)
    run = api_run(alice_key, "sean@example.com")

    response = logged_in(client, alice).get(f"/runs/{run.id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "COMPLETED" in body
    assert "<details open>" in body and "1 result" in body
    assert "sean@example.com" in body and "&quot;work_email&quot;" in body
    assert 'Calculated</th><td>price × billed units</td><td class="num">$0.003000' in body
    assert 'Actual</th><td>what the provider charged us</td><td class="num">$0.001250' in body
    assert 'Reported</th><td>what the customer is charged</td><td class="num">$0.003000' in body
    assert "Provider said" not in body and "Monid error" not in body
    assert (run.calculated_cost_micros, run.actual_cost_micros, run.reported_cost_micros) == (3000, 1250, 3000)


def test_a_run_page_sets_the_providers_error_and_status_apart(client, alice, alice_key):
    run = api_run(alice_key, "nomatch@example.com")

    response = logged_in(client, alice).get(f"/runs/{run.id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert '<section class="said provider">' in body
    assert '<span class="badge warn">404</span>' in body
    assert "No records were found matching your request" in body
    assert "Monid error" not in body
    assert "No output." in body
    assert 'Reported</th><td>what the customer is charged</td><td class="num">$0.000000' in body
    assert run.provider_http_status == 404


def test_a_run_page_shows_our_own_infrastructure_error_as_a_monid_error(client, alice, alice_key):
    run = api_run(alice_key, "sean@example.com")
    Run.objects.filter(pk=run.pk).update(
        status="FAILED",
        output=None,
        provider_http_status=None,
        error_message="People Data Labs did not answer within 30 seconds.",
    )

    response = logged_in(client, alice).get(f"/runs/{run.id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert '<section class="said monid">' in body
    assert "did not answer within 30 seconds" in body
    assert "Provider said" not in body


def test_a_huge_output_is_truncated_and_says_so(client, alice, alice_key):
    run = api_run(alice_key, "sean@example.com")
    Run.objects.filter(pk=run.pk).update(output=[{"n": n, "text": "x" * 100} for n in range(3000)], result_count=3000)

    response = logged_in(client, alice).get(f"/runs/{run.id}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "3000 results" in body
    assert "<details>" in body
    assert re.search(r"Showing the first \d+ of 3000 items; the other \d+ are in the download", body)
    assert len(body) < 300_000


def test_a_running_run_page_refreshes_itself(client, alice, alice_key):
    run = api_run(alice_key, "sean@example.com")
    Run.objects.filter(pk=run.pk).update(status="RUNNING", output=None, completed_at=None)

    response = logged_in(client, alice).get(f"/runs/{run.id}/")

    assert b'<meta http-equiv="refresh" content="5">' in response.content


def test_dollars_are_formatted_from_integer_micro_dollars():
    assert [dollars(3000), dollars(0), dollars(-1), dollars(1_234_567_890), dollars(None)] == [
        "$0.003000",
        "$0.000000",
        "-$0.000001",
        "$1,234.567890",
        "—",
    ]


def test_status_and_http_badges_are_coloured_by_class():
    assert [http_class(200), http_class(404), http_class(503), http_class(None)] == ["ok", "warn", "bad", "muted"]
    assert [status_class("COMPLETED"), status_class("FAILED"), status_class("RUNNING")] == ["ok", "bad", "busy"]
