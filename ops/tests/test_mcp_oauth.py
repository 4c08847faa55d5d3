"""OAuth for MCP hosts that connect without a pasted key (billing/oauth.py), over real HTTP against the live server:
the SDK's own OAuth client completes the flow and calls monid_run, and each refusal is tried by hand."""

import base64
import datetime
import hashlib
import json
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import pytest
import requests
import time_machine
from django.test import Client
from django.utils import timezone
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from billing.keys import hash_key
from billing.models import ApiKey, LedgerEntry, OAuthClient, OAuthCode
from billing.services import wallet_credit
from monid_site.throttle import THROTTLES
from ops.tests.mcp_session import mcp_calls, mcp_session_calls
from runs.models import Run
from runs.services import runs_settle_all

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = "http://localhost:3030/callback"
PDL_MATCH = {"provider": "pdl", "endpoint": "/person/enrich", "input": {"email": "sean@example.com"}}


class Memory:
    """The SDK client's token storage, kept in memory."""

    def __init__(self):
        self.tokens = self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


def _csrf(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def answer_as(url, username, *, decision="approve", mode="live"):
    """A person opens the authorization URL, logs in through the login form it sends them to, and answers the
    approval page; the redirect the host would get."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert urlsplit(page.url).path == "/login/", page.url
    page = browser.post(
        page.url,
        timeout=10,
        data={"username": username, "password": f"{username}-pass-1", "csrfmiddlewaretoken": _csrf(page.text)},
    )
    assert page.status_code == 200 and "Approve" in page.text, page.text
    return browser.post(
        page.url,
        allow_redirects=False,
        timeout=10,
        data={"csrfmiddlewaretoken": _csrf(page.text), "decision": decision, "mode": mode},
    )


def query_of(response):
    assert response.status_code == 302, response.text
    return {name: values[0] for name, values in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def register(live_server, **metadata):
    return requests.post(
        f"{live_server.url}/oauth/register",
        timeout=10,
        json={"client_name": "Test host", "redirect_uris": [REDIRECT], **metadata},
    )


def pkce():
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def authorize_url(live_server, client, challenge, **params):
    """The authorization request of the client with this id; `params` change or (None) leave out its parameters."""
    query = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": REDIRECT,
        "state": "st-42",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **params,
    }
    return f"{live_server.url}/oauth/authorize?{urlencode({k: v for k, v in query.items() if v is not None})}"


def exchange(live_server, client, code, verifier, **fields):
    """A token request of a public client, or of a confidential one with its secret in the body."""
    return requests.post(
        f"{live_server.url}/oauth/token",
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
            "client_id": client["client_id"],
            **({"client_secret": client["client_secret"]} if "client_secret" in client else {}),
            **fields,
        },
    )


@pytest.fixture
def public_client(live_server):
    return register(live_server, token_endpoint_auth_method="none").json()


@pytest.fixture
def approved(live_server, alice, catalog, public_client):
    """Alice approved the public client for acme: (the code, its verifier)."""
    verifier, challenge = pkce()
    code = query_of(answer_as(authorize_url(live_server, public_client["client_id"], challenge), "alice"))["code"]
    return code, verifier


def test_an_mcp_client_completes_the_oauth_flow_and_calls_monid_run(live_server, alice, catalog):
    """The SDK's OAuthClientProvider, given no key: /mcp's 401 leads it to the metadata, it registers, Alice logs
    in and approves it, it trades the code and its PKCE verifier for a token, and monid_run runs with it."""
    redirects = []

    async def redirect_handler(url):
        redirects.append(query_of(await anyio.to_thread.run_sync(answer_as, url, "alice")))

    async def callback_handler():
        answer = redirects[-1]
        return AuthorizationCodeResult(code=answer["code"], state=answer["state"], iss=answer["iss"])

    storage = Memory()
    oauth = OAuthClientProvider(
        server_url=f"{live_server.url}/mcp",
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata=OAuthClientMetadata(client_name="Test host", redirect_uris=[REDIRECT]),
    )
    wallet_credit(workspace=alice.workspaces.get(), amount_micros=10_000_000, note="test funds")
    [result] = mcp_session_calls(live_server, [("monid_run", PDL_MATCH)], auth=oauth)

    assert not result.is_error, result.content[0].text
    run = json.loads(result.content[0].text)
    assert run["status"] == "COMPLETED" and run["providerResponse"]["httpStatus"] == 200
    assert storage.client_info.token_endpoint_auth_method == "client_secret_basic" and len(redirects) == 1
    api_key = ApiKey.objects.get(key_hash=hash_key(storage.tokens.access_token))
    assert (api_key.label, api_key.workspace.slug, api_key.mode, api_key.scopes, api_key.created_by) == (
        "MCP: Test host",
        "acme",
        "live",
        "runs catalog",
        alice,
    )
    assert Run.objects.get(pk=run["runId"]).api_key == api_key
    assert runs_settle_all() == 1 and LedgerEntry.objects.filter(run_id=run["runId"], kind="charge").exists()


def test_the_metadata_documents_lead_a_host_from_mcp_to_the_endpoints(live_server):
    base = live_server.url
    challenge = requests.post(f"{base}/mcp", json={}, timeout=10)
    resource = requests.get(f"{base}/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    bare = requests.get(f"{base}/.well-known/oauth-protected-resource", timeout=10).json()
    server = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()

    assert challenge.status_code == 401 and challenge.json()["code"] == 401
    assert challenge.headers["WWW-Authenticate"] == (
        f'Bearer realm="api", resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
    )
    assert (
        resource
        == bare
        == {
            "resource": f"{base}/mcp",
            "authorization_servers": [base],
            "scopes_supported": ["runs", "catalog"],
            "bearer_methods_supported": ["header"],
            "resource_name": "Monid",
        }
    )
    assert server == {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "registration_endpoint": f"{base}/oauth/register",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": ["runs", "catalog"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "authorization_response_iss_parameter_supported": True,
    }


def test_the_v1_api_still_answers_its_own_challenge(live_server):
    response = requests.get(f"{live_server.url}/v1/runs", timeout=10)

    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_bearer_api_keys_still_work_on_mcp(live_server, alice_test_key):
    [result] = mcp_calls(live_server, alice_test_key, ("monid_run", PDL_MATCH))

    assert not result.is_error and json.loads(result.content[0].text)["status"] == "COMPLETED"


def test_a_registration_gets_a_secret_shown_once_and_kept_as_an_hmac(live_server):
    response = register(live_server, token_endpoint_auth_method="client_secret_post", scope="runs manage")

    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert {
        name: body[name]
        for name in (
            "client_name",
            "redirect_uris",
            "scope",
            "token_endpoint_auth_method",
            "grant_types",
            "client_secret_expires_at",
        )
    } == {
        "client_name": "Test host",
        "redirect_uris": [REDIRECT],
        "scope": "runs",  # manage is never granted
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code"],
        "client_secret_expires_at": 0,
    }
    client = OAuthClient.objects.get(client_id=body["client_id"])
    assert client.secret_hash == hash_key(body["client_secret"]) and body["client_secret"] not in client.secret_hash


def test_a_public_client_gets_no_secret(live_server):
    body = register(live_server, token_endpoint_auth_method="none").json()

    assert "client_secret" not in body and OAuthClient.objects.get(client_id=body["client_id"]).secret_hash == ""


@pytest.mark.parametrize(
    "metadata, error",
    [
        ({"redirect_uris": [f"https://host.example/{n}" for n in range(6)]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://host.example/" + "a" * 500]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["http://host.example/callback"]}, "invalid_redirect_uri"),  # http off loopback
        ({"redirect_uris": ["javascript:alert(1)//"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://host.example/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://user:pw@host.example/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_client_metadata"),
        ({"client_name": "x" * 101}, "invalid_client_metadata"),
        ({"client_name": "Claude\n\u202eevil"}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
    ],
)
def test_a_registration_out_of_bounds_is_refused(live_server, metadata, error):
    response = register(live_server, **metadata)

    assert response.status_code == 400 and response.json()["error"] == error, response.text
    assert not OAuthClient.objects.exists()


def test_native_hosts_may_register_their_own_scheme_and_loopback_addresses(live_server):
    uris = ["cursor://anysphere.cursor-retrieval/oauth/callback", "http://127.0.0.1:43117/cb", "http://[::1]:8/cb"]

    response = register(live_server, redirect_uris=uris)

    assert response.status_code == 201 and response.json()["redirect_uris"] == uris


def test_registrations_are_throttled_per_address(live_server):
    _, per_address, _ = THROTTLES["oauth-register"]
    for _ in range(per_address):
        assert register(live_server).status_code == 201

    response = register(live_server)

    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert OAuthClient.objects.count() == per_address


def test_the_authorization_page_needs_a_login(live_server, public_client):
    _, challenge = pkce()
    url = authorize_url(live_server, public_client["client_id"], challenge)

    response = requests.get(url, allow_redirects=False, timeout=10)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=/oauth/authorize%3F")


def test_the_approval_page_names_the_host_its_redirect_host_and_the_workspace(live_server, alice, public_client):
    _, challenge = pkce()
    client = Client()
    client.force_login(alice)

    response = client.get(
        authorize_url(live_server, public_client["client_id"], challenge).removeprefix(live_server.url)
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Test host" in page and "localhost:3030" in page and "Acme" in page and 'value="approve"' in page
    assert "form-action 'self' http://localhost:3030;" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_approval_form_is_csrf_protected(live_server, alice, public_client):
    _, challenge = pkce()
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(
        authorize_url(live_server, public_client["client_id"], challenge).removeprefix(live_server.url),
        {"decision": "approve", "mode": "live"},
    )

    assert response.status_code == 403 and not OAuthCode.objects.exists()


def test_a_deny_answers_access_denied_with_the_state_at_the_redirect_uri(live_server, alice, public_client):
    _, challenge = pkce()

    response = answer_as(authorize_url(live_server, public_client["client_id"], challenge), "alice", decision="deny")

    assert response.headers["Location"].startswith(REDIRECT + "?")
    answer = query_of(response)
    assert (answer["error"], answer["state"], answer["iss"]) == ("access_denied", "st-42", live_server.url)
    assert not OAuthCode.objects.exists() and not ApiKey.objects.exists()


def test_a_person_without_a_workspace_cannot_approve(live_server, operator, public_client):
    _, challenge = pkce()
    client = Client()
    client.force_login(operator)
    path = authorize_url(live_server, public_client["client_id"], challenge).removeprefix(live_server.url)

    page = client.get(path)
    posted = client.post(path, {"decision": "approve", "mode": "live"})

    assert page.status_code == posted.status_code == 403
    assert "no workspace" in page.content.decode() and 'value="approve"' not in page.content.decode()
    assert not OAuthCode.objects.exists()


def test_a_token_acts_in_the_approvers_workspace_only(live_server, alice_key, bob, public_client):
    run_id = requests.post(
        f"{live_server.url}/v1/run", json=PDL_MATCH, timeout=10, headers={"Authorization": f"Bearer {alice_key}"}
    ).json()["runId"]
    verifier, challenge = pkce()
    code = query_of(answer_as(authorize_url(live_server, public_client["client_id"], challenge), "bob"))["code"]
    token = exchange(live_server, public_client, code, verifier).json()["access_token"]

    [result] = mcp_calls(live_server, token, ("monid_get_run", {"runId": run_id}))

    assert result.is_error and json.loads(result.content[0].text)["code"] == 404
    assert ApiKey.objects.get(key_hash=hash_key(token)).workspace.slug == "globex"


def test_a_test_mode_approval_gives_a_test_key(live_server, alice, catalog, public_client):
    verifier, challenge = pkce()
    code = query_of(answer_as(authorize_url(live_server, public_client["client_id"], challenge), "alice", mode="test"))[
        "code"
    ]

    token = exchange(live_server, public_client, code, verifier).json()

    assert token["access_token"].startswith("monid_test_") and token["token_type"] == "Bearer"
    assert "refresh_token" not in token and "expires_in" not in token


def test_each_approval_gives_a_key_of_its_own(live_server, alice, catalog, public_client):
    tokens = []
    for _ in range(2):
        verifier, challenge = pkce()
        code = query_of(answer_as(authorize_url(live_server, public_client["client_id"], challenge), "alice"))["code"]
        tokens.append(exchange(live_server, public_client, code, verifier).json()["access_token"])

    assert tokens[0] != tokens[1]
    assert [ApiKey.objects.get(key_hash=hash_key(token)).label for token in tokens] == [
        "MCP: Test host",
        "MCP: Test host (2)",
    ]


@pytest.mark.parametrize(
    "params, error",
    [
        ({"client_id": "nobody"}, "No MCP host is registered"),
        ({"redirect_uri": "http://localhost:6666/evil"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "manage"}, "invalid_scope"),
        ({"resource": "https://elsewhere.example/mcp"}, "invalid_target"),
    ],
)
def test_a_request_without_s256_pkce_or_otherwise_wrong_is_answered_on_the_page_never_redirected(
    live_server, alice, public_client, params, error
):
    """Anyone may register redirect URIs, so a bad request is not sent on to one (Monid is no open redirector)."""
    _, challenge = pkce()
    client = Client()
    client.force_login(alice)

    response = client.get(
        authorize_url(live_server, public_client["client_id"], challenge, **params).removeprefix(live_server.url)
    )

    assert response.status_code == 400 and "Location" not in response
    page = response.content.decode()
    assert error in page and 'value="approve"' not in page
    assert not OAuthCode.objects.exists()


def test_a_wrong_verifier_is_refused_and_uses_the_code_up(live_server, approved, public_client):
    code, verifier = approved

    wrong = exchange(live_server, public_client, code, pkce()[0])
    right = exchange(live_server, public_client, code, verifier)

    assert wrong.status_code == right.status_code == 400
    assert wrong.json()["error"] == "invalid_grant" and "code_verifier" in wrong.json()["error_description"]
    assert right.json()["error"] == "invalid_grant" and not ApiKey.objects.exists()


def test_a_code_used_again_is_refused_and_revokes_the_key_it_gave(live_server, approved, public_client):
    code, verifier = approved
    first = exchange(live_server, public_client, code, verifier)
    token = first.json()["access_token"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    [workspaces] = mcp_calls(live_server, token, ("monid_list_workspaces", {}))
    assert not workspaces.is_error

    again = exchange(live_server, public_client, code, verifier)

    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert (
        requests.post(
            f"{live_server.url}/mcp", json={}, timeout=10, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_a_code_for_another_redirect_uri_is_refused(live_server, alice):
    other = "http://localhost:3030/other"
    client = register(live_server, redirect_uris=[REDIRECT, other], token_endpoint_auth_method="none").json()
    verifier, challenge = pkce()
    code = query_of(answer_as(authorize_url(live_server, client["client_id"], challenge), "alice"))["code"]

    response = exchange(live_server, client, code, verifier, redirect_uri=other)

    assert response.status_code == 400 and "redirect_uri" in response.json()["error_description"]


def test_a_code_of_another_client_is_refused(live_server, approved):
    code, verifier = approved
    thief = register(live_server, token_endpoint_auth_method="none").json()

    response = exchange(live_server, thief, code, verifier)

    assert response.status_code == 400 and "another client" in response.json()["error_description"]


def test_an_expired_code_is_refused(live_server, approved, public_client):
    code, verifier = approved

    with time_machine.travel(timezone.now() + OAuthCode.VALID_FOR + datetime.timedelta(seconds=1), tick=False):
        response = exchange(live_server, public_client, code, verifier)

    assert response.status_code == 400 and "expired" in response.json()["error_description"]


def test_a_confidential_client_must_send_its_secret(live_server, alice):
    client = register(live_server).json()  # client_secret_basic, by default
    verifier, challenge = pkce()
    code = query_of(answer_as(authorize_url(live_server, client["client_id"], challenge), "alice"))["code"]
    basic = base64.b64encode(f"{client['client_id']}:wrong".encode()).decode()

    without = exchange(live_server, {"client_id": client["client_id"]}, code, verifier)
    wrong = exchange(live_server, {"client_id": client["client_id"]}, code, verifier, client_secret="not-the-secret")
    wrong_basic = requests.post(
        f"{live_server.url}/oauth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        timeout=10,
    )
    right = exchange(live_server, client, code, verifier)

    assert without.status_code == wrong.status_code == wrong_basic.status_code == 401
    assert without.json()["error"] == "invalid_client" and "Basic" in wrong_basic.headers["WWW-Authenticate"]
    assert right.status_code == 200  # the refusals did not use the code up


def test_only_the_authorization_code_grant_is_offered(live_server, public_client):
    response = exchange(live_server, public_client, "x", "y", grant_type="refresh_token", refresh_token="r")

    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


def test_a_key_revoked_on_the_keys_page_disconnects_the_host(live_server, alice, approved, public_client):
    code, verifier = approved
    token = exchange(live_server, public_client, code, verifier).json()["access_token"]
    client = Client()
    client.force_login(alice)

    keys = client.get("/keys/")
    client.post("/keys/MCP: Test host/revoke/")

    assert "MCP: Test host" in keys.content.decode()
    response = requests.post(
        f"{live_server.url}/mcp", json={}, timeout=10, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401 and "resource_metadata=" in response.headers["WWW-Authenticate"]


def test_the_host_may_revoke_its_own_token_and_no_other_client_can(live_server, approved, public_client):
    code, verifier = approved
    token = exchange(live_server, public_client, code, verifier).json()["access_token"]
    other = register(live_server, token_endpoint_auth_method="none").json()

    by_other = requests.post(
        f"{live_server.url}/oauth/revoke", timeout=10, data={"token": token, "client_id": other["client_id"]}
    )
    still = requests.get(
        f"{live_server.url}/v1/auth/workspaces", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    by_owner = requests.post(
        f"{live_server.url}/oauth/revoke", timeout=10, data={"token": token, "client_id": public_client["client_id"]}
    )
    after = requests.get(
        f"{live_server.url}/v1/auth/workspaces", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )

    assert by_other.status_code == by_owner.status_code == 200
    assert still.status_code == 200 and after.status_code == 401


def test_operators_see_registered_hosts_in_the_admin_but_never_a_secrets_hash(live_server, admin_client):
    body = register(live_server).json()
    client = OAuthClient.objects.get(client_id=body["client_id"])

    listed = admin_client.get("/admin/billing/oauthclient/")
    shown = admin_client.get(f"/admin/billing/oauthclient/{client.pk}/change/")

    assert listed.status_code == shown.status_code == 200 and "Test host" in listed.content.decode()
    assert client.secret_hash not in shown.content.decode() and body["client_secret"] not in shown.content.decode()
