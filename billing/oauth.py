"""OAuth 2.1 for MCP hosts that connect without a pasted key: this server is their authorization server.

The flow, as MCP's authorization spec lays it out: /mcp answers a host without a key 401 with a WWW-Authenticate
that points at its protected resource metadata (ops.mcp_server), which names this server as the
authorization server; the host reads the metadata here (RFC 8414), registers itself (RFC 7591), sends the person
to /oauth/authorize with a PKCE challenge, where a signed-in member approves it for their workspace, and trades the
code it gets back, with the PKCE verifier, for an access token at /oauth/token.

The access token is a Monid API key, made at that exchange in the approver's workspace (live or test, as they
chose; scopes runs and catalog, never manage), labelled "MCP: <the host's name>", made by the approver. So the
/v1 and /mcp authentication, scopes, rate limit, spend limits and expiry apply to it unchanged, it is listed on
the keys page with the others, and revoking it there disconnects the host. It does not expire (nor do keys unless
given an expiry, which its edit page can), so no refresh token is issued; a host whose key is revoked or expired
gets a 401 and goes through the flow again.

The endpoints are Django views rather than the SDK's own (mcp.server.auth): the SDK's client authentication
compares client secrets in the clear, where we keep only their HMACs, and its handlers are Starlette apps that
would need our session, CSRF protection and ORM bridged in. They use the SDK's models of the documents
(mcp.shared.auth) to parse registrations and write metadata and tokens, and its client drives them in the tests.
"""

import base64
import binascii
import hmac
import json
import math
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from mcp.server.auth.errors import stringify_pydantic_error
from mcp.server.auth.provider import construct_redirect_uri
from mcp.shared.auth import OAuthClientMetadata, OAuthMetadata, OAuthToken
from pydantic import ValidationError

from monid_site.errors import ApplicationError
from monid_site.throttle import attempt_wait

from .authentication import SCOPE_USES
from .forms import OAuthApprovalForm
from .keys import hash_key, looks_like_key
from .models import OAuthClient, OAuthCode
from .oauth_grants import oauth_client_register, oauth_code_exchange, oauth_code_issue, oauth_token_revoke
from .queries import oauth_client_get, workspace_for_user

AUTH_METHODS = [method.value for method in OAuthClient.AuthMethod]
MAX_REGISTRATION_BYTES = 16_384
MAX_REDIRECT_URIS = 5
MAX_REDIRECT_URI_LENGTH = OAuthCode._meta.get_field("redirect_uri").max_length
MAX_CLIENT_NAME_LENGTH = OAuthClient._meta.get_field("name").max_length
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
# A native host's own scheme (cursor:, com.example.app:) is fine; these would run or read something in the browser.
UNSAFE_SCHEMES = ("javascript", "data", "file", "vbscript", "blob", "about", "filesystem")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_NETLOC = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL of a SHA-256, unpadded
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def issuer(request) -> str:
    """This server as an OAuth issuer: its origin, as the request reached it (the Host header passed ALLOWED_HOSTS)."""
    return f"{request.scheme}://{request.get_host()}"


@require_safe
def authorization_server_metadata(request):
    """RFC 8414: where the endpoints are and what they take."""
    base = issuer(request)
    metadata = OAuthMetadata(
        issuer=base,
        authorization_endpoint=base + reverse("oauth-authorize"),
        token_endpoint=base + reverse("oauth-token"),
        registration_endpoint=base + reverse("oauth-register"),
        revocation_endpoint=base + reverse("oauth-revoke"),
        scopes_supported=list(OAuthClient.SCOPES),
        response_types_supported=["code"],
        grant_types_supported=["authorization_code"],
        code_challenge_methods_supported=["S256"],
        token_endpoint_auth_methods_supported=AUTH_METHODS,
        revocation_endpoint_auth_methods_supported=AUTH_METHODS,
        authorization_response_iss_parameter_supported=True,
    )
    return JsonResponse(metadata.model_dump(mode="json", exclude_none=True))


def _oauth_error(status: int, error: str, description: str, headers: dict | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": error, "error_description": description}, status=status, headers={**NO_STORE, **(headers or {})}
    )


@csrf_exempt  # a host registers with a JSON body and no cookie
@require_POST
def register(request):
    """RFC 7591: any host may register, a few times an hour per address; its name, redirect URIs and scope are
    bounded. A confidential client (client_secret_basic, the default, or client_secret_post) gets a secret, shown
    in this answer alone; a public one (none) gets none and relies on PKCE."""
    wait = attempt_wait("oauth-register", request=request, account="")
    if wait:
        return _oauth_error(
            429,
            "temporarily_unavailable",
            f"Too many registrations from this address; retry in {math.ceil(wait / 60)} minutes.",
            {"Retry-After": str(wait)},
        )
    if len(request.body) > MAX_REGISTRATION_BYTES:
        return _oauth_error(
            400, "invalid_client_metadata", f"The registration is larger than {MAX_REGISTRATION_BYTES} bytes."
        )
    try:
        sent = json.loads(request.body)
        metadata = OAuthClientMetadata.model_validate(sent)
    except ValueError as exc:  # pydantic's ValidationError is one
        detail = stringify_pydantic_error(exc) if isinstance(exc, ValidationError) else "The body is not JSON."
        return _oauth_error(400, "invalid_client_metadata", detail)
    # The URIs as sent, not as pydantic normalised them: the authorization request's must match one exactly.
    redirect_uris = sent.get("redirect_uris") or []
    problem = (
        f"Register 1 to {MAX_REDIRECT_URIS} redirect_uris."
        if not 1 <= len(redirect_uris) <= MAX_REDIRECT_URIS
        else next(filter(None, map(_redirect_uri_problem, redirect_uris)), None)
    )
    if problem:
        return _oauth_error(400, "invalid_redirect_uri", problem)
    name = (metadata.client_name or "").strip()
    auth_method = metadata.token_endpoint_auth_method or OAuthClient.AuthMethod.BASIC  # RFC 7591's default
    problem = (
        f"client_name must be at most {MAX_CLIENT_NAME_LENGTH} printable characters."
        if len(name) > MAX_CLIENT_NAME_LENGTH or not name.isprintable()
        else f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}."
        if auth_method not in AUTH_METHODS
        else "grant_types must include authorization_code."
        if "authorization_code" not in metadata.grant_types
        else "response_types must include code."
        if "code" not in metadata.response_types
        else None
    )
    if problem:
        return _oauth_error(400, "invalid_client_metadata", problem)
    # Scopes we do not know are left out rather than refused (RFC 7591 lets us replace them); none asked, all.
    scopes = [scope for scope in (metadata.scope or "").split() if scope in OAuthClient.SCOPES] or OAuthClient.SCOPES
    client, secret = oauth_client_register(
        name=name, redirect_uris=redirect_uris, auth_method=auth_method, scopes=scopes
    )
    registered = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.name or None,
        "redirect_uris": client.redirect_uris,
        "scope": client.scope,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": client.auth_method,
        **({"client_secret": secret, "client_secret_expires_at": 0} if secret else {}),  # 0: it never expires
    }
    return JsonResponse(
        {name: value for name, value in registered.items() if value is not None}, status=201, headers=NO_STORE
    )


def _redirect_uri_problem(uri) -> str | None:
    """Why `uri` may not be a redirect URI (RFC 6749 section 3.1.2, RFC 8252 for native hosts), or None."""
    if not isinstance(uri, str) or len(uri) > MAX_REDIRECT_URI_LENGTH:
        return f"Each redirect URI must be a string of at most {MAX_REDIRECT_URI_LENGTH} characters."
    try:
        parts = urlsplit(uri)
    except ValueError:  # a malformed IPv6 address
        return f"The redirect URI {uri!r} is not a URI."
    if not _SCHEME.fullmatch(parts.scheme) or parts.scheme in UNSAFE_SCHEMES:
        return f"The redirect URI {uri!r} needs a scheme, and not one of {', '.join(UNSAFE_SCHEMES)}."
    if "#" in uri or not uri.isprintable() or " " in uri:
        return f"The redirect URI {uri!r} may not have a fragment, spaces or control characters."
    if parts.scheme in ("http", "https") and (not _NETLOC.fullmatch(parts.netloc) or "@" in parts.netloc):
        return f"The redirect URI {uri!r} needs a host (and no user name or password)."
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"The redirect URI {uri!r} must use https, or http on a loopback address (localhost, 127.0.0.1)."
    return None


def _form_action_source(uri: str) -> str:
    """The Content-Security-Policy source that lets the approval form's answer redirect to `uri`; the registration
    checked the scheme and host it is made of."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"


class _BadRequest(Exception):
    """A malformed authorization request, answered on the page rather than at the client's redirect URI (RFC 9700
    section 4.11.2): anyone may register a client and its redirect URIs, so redirecting before the person has seen
    the host would make this server an open redirector. A correct host never sees one."""


@dataclass
class _AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    redirect_uri_given: bool
    state: str | None
    code_challenge: str
    scopes: tuple[str, ...]


def _authorization_request(request) -> _AuthorizationRequest:
    """The authorization request in the query string, or _BadRequest. PKCE with S256 is required, as OAuth 2.1 and
    MCP require it. Its scopes are those asked for that the client registered; none asked, all it registered."""
    params = request.GET
    client = oauth_client_get(client_id=params.get("client_id", ""))
    if client is None:
        raise _BadRequest("No MCP host is registered with this client_id. Start the connection again from the host.")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None and len(client.redirect_uris) != 1:
        raise _BadRequest("invalid_request: the request names no redirect_uri, and the host registered several.")
    if redirect_uri is not None and redirect_uri not in client.redirect_uris:
        raise _BadRequest("invalid_request: the request's redirect_uri is not one the host registered.")
    if params.get("response_type") != "code":
        raise _BadRequest("unsupported_response_type: response_type must be code.")
    if params.get("code_challenge_method") != "S256" or not _CODE_CHALLENGE.fullmatch(params.get("code_challenge", "")):
        raise _BadRequest("invalid_request: PKCE is required: a code_challenge with code_challenge_method S256.")
    granted = client.scope.split()
    requested = params.get("scope", "").split() or granted
    scopes = tuple(scope for scope in OAuthClient.SCOPES if scope in requested and scope in granted)
    if not scopes:
        raise _BadRequest(f"invalid_scope: the host may ask for some of the scopes {client.scope} only.")
    resource = params.get("resource")
    if resource is not None and not _on_this_server(resource, request):
        raise _BadRequest(f"invalid_target: this server grants access to itself ({issuer(request)}) only.")
    return _AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri or client.redirect_uris[0],
        redirect_uri_given=redirect_uri is not None,
        state=params.get("state"),
        code_challenge=params["code_challenge"],
        scopes=scopes,
    )


def _on_this_server(resource: str, request) -> bool:
    parts = urlsplit(resource)
    return f"{parts.scheme}://{parts.netloc}".lower() == issuer(request).lower() and not parts.fragment


def _back_to_client(request, asked: _AuthorizationRequest, **answer) -> HttpResponse:
    """A redirect to the client's redirect URI with the answer, its state and this issuer (RFC 9207)."""
    response = HttpResponse(status=302, headers=NO_STORE)
    response["Location"] = construct_redirect_uri(asked.redirect_uri, **answer, state=asked.state, iss=issuer(request))
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def authorize(request):
    """The page where a signed-in member approves (or denies) an MCP host for their workspace. The request's
    parameters stay in the query string, which the approval form posts back to; the answer to either button is a
    redirect to the host's redirect URI (a code, or error=access_denied), which the page's Content-Security-Policy
    lets the form's submission follow."""
    try:
        asked = _authorization_request(request)
    except _BadRequest as exc:
        return render(request, "billing/oauth_authorize.html", {"refusal": str(exc)}, status=400)
    workspace = workspace_for_user(request.user)
    target = urlsplit(asked.redirect_uri)
    context = {
        "client": asked.client,
        "workspace": workspace,
        "redirect": target.netloc if target.scheme in ("http", "https") else f"{target.scheme}:",
        "scopes": [(scope, SCOPE_USES[scope]) for scope in asked.scopes],
    }
    if workspace is None:
        context["refusal"] = (
            "Your account belongs to no workspace, so there is nothing to connect this host to. "
            "Sign in as a member of the workspace it should act in."
        )
        return _with_form_action(render(request, "billing/oauth_authorize.html", context, status=403), asked)
    form = OAuthApprovalForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "deny":
            return _back_to_client(
                request,
                asked,
                error="access_denied",
                error_description="The person at Monid declined to connect this host.",
            )
        if decision == "approve" and form.is_valid():
            try:
                code = oauth_code_issue(
                    client=asked.client,
                    workspace=workspace,
                    user=request.user,
                    redirect_uri=asked.redirect_uri,
                    redirect_uri_given=asked.redirect_uri_given,
                    code_challenge=asked.code_challenge,
                    scopes=asked.scopes,
                    mode=form.cleaned_data["mode"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                return _back_to_client(request, asked, code=code)
        return _with_form_action(
            render(request, "billing/oauth_authorize.html", {**context, "form": form}, status=400), asked
        )
    return _with_form_action(render(request, "billing/oauth_authorize.html", {**context, "form": form}), asked)


def _with_form_action(response: HttpResponse, asked: _AuthorizationRequest) -> HttpResponse:
    response["Content-Security-Policy"] = settings.MONID_CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {_form_action_source(asked.redirect_uri)}"
    )
    return response


def _client_authenticated(request) -> OAuthClient | None:
    """The client a token or revocation request authenticates as: its secret in an HTTP Basic header or in the
    body (either, whichever it registered), or a public client by its client_id alone. None if it does not."""
    client_id, secret = request.POST.get("client_id", ""), request.POST.get("client_secret")
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            basic_id, colon, basic_secret = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not colon or (client_id and unquote(basic_id) != client_id):
            return None
        client_id, secret = unquote(basic_id), unquote(basic_secret)  # RFC 6749 section 2.3.1 form-encodes both
    client = oauth_client_get(client_id=client_id) if client_id else None
    if client is None or (
        client.secret_hash and not (secret and hmac.compare_digest(hash_key(secret), client.secret_hash))
    ):
        return None
    return client


def _unknown_client() -> JsonResponse:
    return _oauth_error(
        401,
        "invalid_client",
        "Unknown client, or a wrong or missing client secret.",
        {"WWW-Authenticate": 'Basic realm="oauth"'},
    )


@csrf_exempt  # a host's own request, with no cookie
@require_POST
def token(request):
    """RFC 6749 section 4.1.3 with PKCE: an authorization code and its verifier for an access token, a Monid API
    key. No refresh token: the key does not expire unless a member gives it an expiry."""
    client = _client_authenticated(request)
    if client is None:
        return _unknown_client()
    if request.POST.get("grant_type") != "authorization_code":
        return _oauth_error(400, "unsupported_grant_type", "This server grants authorization_code only.")
    code, verifier = request.POST.get("code", ""), request.POST.get("code_verifier", "")
    if not code or not verifier:
        return _oauth_error(400, "invalid_request", "Send the code and the PKCE code_verifier.")
    resource = request.POST.get("resource")
    if resource is not None and not _on_this_server(resource, request):
        return _oauth_error(400, "invalid_target", f"This server grants access to itself ({issuer(request)}) only.")
    try:
        api_key, key = oauth_code_exchange(
            client=client, code=code, redirect_uri=request.POST.get("redirect_uri"), code_verifier=verifier
        )
    except ApplicationError as exc:
        return _oauth_error(400, "invalid_grant", exc.message)
    answer = OAuthToken(access_token=key, token_type="Bearer", scope=api_key.scopes)
    return JsonResponse(answer.model_dump(mode="json", exclude_none=True), headers=NO_STORE)


@csrf_exempt  # a host's own request, with no cookie
@require_POST
def revoke(request):
    """RFC 7009: a host gives up its access token, which revokes the key, as its Revoke link would. Anything that
    is not a live key issued to this client is answered the same way, and left alone."""
    client = _client_authenticated(request)
    if client is None:
        return _unknown_client()
    token_sent = request.POST.get("token", "")
    if looks_like_key(token_sent):
        oauth_token_revoke(client=client, token=token_sent)
    return HttpResponse(status=200, headers=NO_STORE)
