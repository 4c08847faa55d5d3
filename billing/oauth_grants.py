"""OAuth grants to MCP hosts (the endpoints are in oauth.py): their registrations, the authorization codes members
approve them with, and the API keys those codes are traded for."""

import base64
import datetime
import hashlib
import hmac
import itertools
import re
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from monid_site.errors import ApplicationError

from .api_keys import api_key_create, api_key_revoke
from .keys import hash_key
from .models import ApiKey, OAuthClient, OAuthCode, Workspace

OAUTH_CODES_KEPT = datetime.timedelta(days=1)  # past expiry, so that a replayed code is still recognised
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1


def oauth_client_register(
    *, name: str, redirect_uris: list[str], auth_method: str, scopes: Iterable[str]
) -> tuple[OAuthClient, str | None]:
    """A self-registered MCP host and its secret (None for a public client), which exists nowhere else after this
    call: only its HMAC is kept. Its metadata was checked by the registration endpoint (billing.oauth)."""
    secret = None if auth_method == OAuthClient.AuthMethod.NONE else secrets.token_urlsafe(32)
    client = OAuthClient.objects.create(
        client_id=secrets.token_urlsafe(18),
        secret_hash=hash_key(secret) if secret else "",
        auth_method=auth_method,
        name=name,
        redirect_uris=redirect_uris,
        scope=" ".join(scope for scope in OAuthClient.SCOPES if scope in set(scopes)),
    )
    return client, secret


def oauth_code_issue(
    *,
    client: OAuthClient,
    workspace: Workspace,
    user,
    redirect_uri: str,
    redirect_uri_given: bool,
    code_challenge: str,
    scopes: Iterable[str],
    mode: str,
) -> str:
    """A member's approval of `client` for their workspace, as an authorization code, which exists nowhere else
    after this call. Codes long expired and never exchanged are cleared out here."""
    if not workspace.members.filter(pk=user.pk).exists():
        raise ApplicationError(403, "Only a member of the workspace may connect an MCP host to it.")
    if mode not in ApiKey.Mode.values:
        raise ApplicationError(400, f"A key's mode is 'live' or 'test', not {mode!r}.")
    now = timezone.now()
    OAuthCode.objects.filter(expires_at__lt=now - OAUTH_CODES_KEPT, api_key__isnull=True).delete()
    code = secrets.token_urlsafe(32)
    OAuthCode.objects.create(
        code_hash=hash_key(code),
        client=client,
        workspace=workspace,
        approved_by=user,
        redirect_uri=redirect_uri,
        redirect_uri_given=redirect_uri_given,
        code_challenge=code_challenge,
        mode=mode,
        scopes=" ".join(scope for scope in OAuthClient.SCOPES if scope in set(scopes)),
        created_at=now,
        expires_at=now + OAuthCode.VALID_FOR,
    )
    return code


def oauth_code_exchange(
    *, client: OAuthClient, code: str, redirect_uri: str | None, code_verifier: str
) -> tuple[ApiKey, str]:
    """The API key an approval grants, and the full key (shown once, as the access token). A code is good for one
    try, by its client, before it expires, with its redirect URI and the PKCE verifier of its challenge; presented
    again, it also revokes the key it gave (RFC 6749 section 4.1.2).

    Not atomic as a whole, on purpose: the UPDATE that claims the code commits whatever follows, so a refused try
    still uses the code up."""
    grant = OAuthCode.objects.select_related("workspace", "api_key").filter(code_hash=hash_key(code)).first()
    if grant is None:
        raise ApplicationError(400, "This authorization code is not valid.")
    now = timezone.now()
    if not OAuthCode.objects.filter(pk=grant.pk, used_at__isnull=True).update(used_at=now):
        if grant.api_key is not None:
            api_key_revoke(api_key=grant.api_key)
        raise ApplicationError(
            400,
            "This authorization code was already used, and the key it gave is now revoked. "
            "Start the authorization again.",
        )
    if grant.client_id != client.pk:
        raise ApplicationError(400, "This authorization code was issued to another client.")
    if grant.expires_at <= now:
        raise ApplicationError(400, "This authorization code has expired. Start the authorization again.")
    if (redirect_uri is not None or grant.redirect_uri_given) and redirect_uri != grant.redirect_uri:
        raise ApplicationError(400, "redirect_uri is not the one this authorization code was issued for.")
    if not pkce_verifies(code_verifier=code_verifier, code_challenge=grant.code_challenge):
        raise ApplicationError(400, "code_verifier does not match the code_challenge of the authorization request.")
    if not grant.workspace.members.filter(pk=grant.approved_by_id).exists():
        raise ApplicationError(400, "Whoever approved this client is no longer a member of the workspace.")
    with transaction.atomic():
        label = _free_key_label(workspace=grant.workspace, base=f"MCP: {client.name or 'an MCP host'}")
        api_key, key = api_key_create(
            workspace=grant.workspace,
            label=label,
            mode=grant.mode,
            scopes=grant.scopes.split(),
            created_by=grant.approved_by,
        )
        OAuthCode.objects.filter(pk=grant.pk).update(api_key=api_key)
    return api_key, key


def pkce_verifies(*, code_verifier: str, code_challenge: str) -> bool:
    """Whether BASE64URL(SHA256(code_verifier)) is the challenge (PKCE's S256 method, RFC 7636 section 4.6)."""
    if not _PKCE_VERIFIER.fullmatch(code_verifier):
        return False
    digest = hashlib.sha256(code_verifier.encode()).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).decode().rstrip("="), code_challenge)


def _free_key_label(*, workspace: Workspace, base: str) -> str:
    """`base`, or the first of "base (2)", "base (3)"… that no key of the workspace has, found with one query."""
    base = base[:90]
    taken = set(workspace.api_keys.filter(label__startswith=base).values_list("label", flat=True))
    return next(
        label for label in itertools.chain([base], (f"{base} ({n})" for n in itertools.count(2))) if label not in taken
    )


def oauth_token_revoke(*, client: OAuthClient, token: str) -> None:
    """Revokes `token` if it is a key issued to `client`; anything else is left alone (RFC 7009 section 2.2)."""
    api_key = ApiKey.objects.filter(
        key_hash=hash_key(token),
        revoked_at__isnull=True,
        pk__in=OAuthCode.objects.filter(client=client, api_key__isnull=False).values("api_key"),
    ).first()
    if api_key is not None:
        api_key_revoke(api_key=api_key)
