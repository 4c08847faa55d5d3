import base64
import datetime
import hashlib
import hmac
import itertools
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from monid_site.errors import ApplicationError
from monid_site.sql import instances_insert

from .controls import MAX_LIMIT_MICROS, budget_spend_record
from .costs import Costs, micros_text
from .keys import generate_key, hash_key, shown_prefix
from .models import ApiKey, Invitation, KeyDailyCost, LedgerEntry, OAuthClient, OAuthCode, Wallet, Workspace
from .statements import wallet_hold_take

LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
# An active key is kept in the shared cache (Redis, or the database's cache table) this long, so that requests
# verify it without a query; revoking it replaces the entry with a tombstone at once, for every process. The
# tombstone outlives by far any request that read the key before it was revoked and caches it only now: such a
# request adds its entry only where there is none, so it can never cover the tombstone.
KEY_CACHE_SECONDS = LAST_USED_RESOLUTION.total_seconds()
KEY_TOMBSTONE_SECONDS = 3600
_REVOKED = "revoked"


def workspace_get_or_create(*, slug: str, name: str = "") -> Workspace:
    """Workspaces are addressed by slug in commands and URLs, so creating one twice must be harmless."""
    slug = slugify(slug)
    if not slug:
        raise ApplicationError(400, "A workspace slug needs at least one letter or digit.")
    workspace, _ = Workspace.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return workspace


def api_key_create(*, workspace: Workspace, label: str, mode: str = ApiKey.Mode.LIVE,
                   scopes: Iterable[str] = ApiKey.DEFAULT_SCOPES, expires_at: datetime.datetime | None = None,
                   spend_limit_micros: int | None = None, spend_period: str = "",
                   created_by=None) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which exists nowhere else after this call. `created_by` is the
    member who made it, whom GET /v1/auth/whoami names."""
    label = _clean_label(label)
    lifecycle = {"expires_at": _clean_expiry(expires_at), **_clean_spend_limit(spend_limit_micros, spend_period)}
    if mode not in ApiKey.Mode.values:
        raise ApplicationError(400, f"A key's mode is 'live' or 'test', not {mode!r}.")
    scopes = set(scopes)
    unknown = sorted(scopes - set(ApiKey.SCOPES))
    if unknown or not scopes:
        wrong = f", not {', '.join(map(repr, unknown))}." if unknown else "; give one at least."
        raise ApplicationError(400, f"A key's scopes are some of {', '.join(ApiKey.SCOPES)}{wrong}")
    if mode == ApiKey.Mode.TEST and "manage" in scopes:
        raise ApplicationError(400, "A test key cannot have the manage scope: keys, spend controls and the wallet "
                                    "are managed with live keys or in the dashboard.")
    key = generate_key(mode)
    try:
        with transaction.atomic():
            api_key = ApiKey.objects.create(
                workspace=workspace, label=label, mode=mode, prefix=shown_prefix(key), key_hash=hash_key(key),
                scopes=" ".join(scope for scope in ApiKey.SCOPES if scope in scopes), created_by=created_by,
                **lifecycle)
    except IntegrityError:
        raise _label_taken(label)
    return api_key, key


def _label_taken(label: str) -> ApplicationError:
    return ApplicationError(409, f"This workspace already has a key labelled {label!r}; choose another label.")


def _clean_label(label: str) -> str:
    label = label.strip()
    if not label or len(label) > 100:
        raise ApplicationError(400, "label: a key label must be 1 to 100 characters.")
    if not label.isprintable():
        raise ApplicationError(400, "label: a key label may not contain line breaks or other control characters.")
    return label


def _clean_expiry(expires_at: datetime.datetime | None) -> datetime.datetime | None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ApplicationError(400, "expiresAt: a key's expiry must be in the future; to stop a key now, revoke it.")
    return expires_at


def _clean_spend_limit(spend_limit_micros: int | None, spend_period: str) -> dict:
    """A key's spend limit as its two columns: both empty, or an amount per period."""
    if spend_limit_micros is None:
        return {"spend_limit_micros": None, "spend_period": ""}
    if not 0 <= spend_limit_micros <= MAX_LIMIT_MICROS:
        raise ApplicationError(400, f"spendLimit: a limit is from $0 to ${MAX_LIMIT_MICROS // 10**6:,}.")
    if spend_period not in ApiKey.SPEND_PERIODS:
        raise ApplicationError(400, f"spendLimit: a key's limit is per {', '.join(ApiKey.SPEND_PERIODS)}, "
                                    f"not {spend_period!r}.")
    return {"spend_limit_micros": spend_limit_micros, "spend_period": spend_period}


def api_key_update(*, api_key: ApiKey, **changes) -> ApiKey:
    """Changes what `changes` names of a key's label, expiry (`expires_at`) and spend limit (`spend_limit_micros`
    with `spend_period`; None for no limit). The shared cache gets the changed key at once, so every process
    applies it from the next request: a request that read the key before the change adds its copy only where
    there is none."""
    fields = {}
    if "label" in changes:
        fields["label"] = _clean_label(changes["label"])
    if "expires_at" in changes:
        fields["expires_at"] = _clean_expiry(changes["expires_at"])
    if "spend_limit_micros" in changes:
        fields.update(_clean_spend_limit(changes["spend_limit_micros"], changes.get("spend_period", "")))
    try:
        with transaction.atomic():
            ApiKey.objects.filter(pk=api_key.pk).update(**fields)
    except IntegrityError:
        raise _label_taken(fields["label"])
    for name, value in fields.items():
        setattr(api_key, name, value)
    fresh = ApiKey.objects.select_related("workspace").filter(pk=api_key.pk, revoked_at__isnull=True).first()
    if fresh is not None:
        cache.set(_key_cache_key(fresh.key_hash), fresh, timeout=KEY_CACHE_SECONDS)
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _keys_tombstone([api_key.key_hash])


@transaction.atomic
def workspace_delete(*, workspace: Workspace) -> None:
    """Deletes a workspace and its keys (one with runs or ledger entries is protected by the database). Its keys
    are refused by every process from now on, not served from the cache onto rows that are gone."""
    _keys_tombstone(list(workspace.api_keys.values_list("key_hash", flat=True)))
    workspace.delete()


def _keys_tombstone(key_hashes: list[str]) -> None:
    # Now, not on commit: should the caller's transaction roll back, the keys only stay refused (fails safe).
    cache.set_many({_key_cache_key(key_hash): _REVOKED for key_hash in key_hashes}, timeout=KEY_TOMBSTONE_SECONDS)


def api_key_authenticate(*, key: str, origin: Callable[[], tuple[str | None, str]] = lambda: (None, "")
                         ) -> ApiKey | None:
    """The unrevoked key matching `key` (perhaps expired: the caller says so): from the cache when it was used
    in the last minute, else from the database, recording its last use and `origin()`'s address and user agent
    (so at most once a minute per key; `origin` is a callable so that a cached key's request never works them
    out)."""
    key_hash = hash_key(key)
    cached = cache.get(_key_cache_key(key_hash))
    if cached is not None:
        return None if cached == _REVOKED else cached
    api_key = ApiKey.objects.select_related("workspace").filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if api_key is None:
        return None  # not cached: guesses must not fill the cache
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ip, user_agent = origin()
        used = {"last_used_at": now, "last_used_ip": ip,
                "last_used_user_agent": user_agent[:ApiKey._meta.get_field("last_used_user_agent").max_length]}
        ApiKey.objects.filter(pk=api_key.pk).update(**used)
        for name, value in used.items():
            setattr(api_key, name, value)
    cache.add(_key_cache_key(key_hash), api_key, timeout=KEY_CACHE_SECONDS)
    return api_key


def _key_cache_key(key_hash: str) -> str:
    return f"monid:apikey:{key_hash}"


@dataclass(frozen=True)
class Settlement:
    """What settling one ended run needs to know of it (billing does not import runs)."""

    workspace_id: int
    api_key_id: int
    run_id: str
    provider: str
    endpoint: str
    status: str
    ended_at: datetime.datetime
    held_micros: int
    costs: Costs


def settlements_record(settlements: list[Settlement]) -> None:
    """Settles a batch of ended runs, in the settler's transaction: their holds released and their charges taken
    (one ledger INSERT for the batch, one wallet UPDATE and one pass over the budgets per workspace), and their
    costs added to their keys' daily rollup (one UPDATE per group of runs alike).

    Wallet rows are updated in workspace order and rollup rows in key order, so two settlers (several workers on
    PostgreSQL, each with its own runs) never wait on each other in a cycle.
    """
    LedgerEntry.objects.bulk_create([
        LedgerEntry(workspace_id=s.workspace_id, kind=kind, amount_micros=amount, run_id=s.run_id)
        for s in settlements
        for kind, amount in ((LedgerEntry.Kind.RELEASE, s.held_micros), (LedgerEntry.Kind.CHARGE, s.costs.reported_micros))
        if amount])
    by_workspace = {}
    for s in settlements:
        by_workspace.setdefault(s.workspace_id, []).append(s)
    for workspace_id, runs in sorted(by_workspace.items()):
        released, charged = sum(s.held_micros for s in runs), sum(s.costs.reported_micros for s in runs)
        if released or charged:
            Wallet.objects.filter(workspace_id=workspace_id).update(
                balance_micros=F("balance_micros") - charged, held_micros=F("held_micros") - released)
        if charged:  # after the wallet's row: see budget_spend_record
            budget_spend_record(workspace_id=workspace_id,
                                charges=[(s.ended_at, s.costs.reported_micros) for s in runs if s.costs.reported_micros])
    groups: dict[tuple, list[int]] = {}
    for s in settlements:
        sums = groups.setdefault((s.api_key_id, s.ended_at.date(), s.provider, s.endpoint, s.status), [0, 0, 0, 0])
        for i, amount in enumerate((1, s.costs.calculated_micros, s.costs.actual_micros, s.costs.reported_micros)):
            sums[i] += amount
    for group, sums in sorted(groups.items()):
        _key_costs_add(dict(zip(("api_key_id", "day", "provider", "endpoint", "status"), group)), *sums)


def _key_costs_add(group: dict, runs: int, calculated: int, actual: int, reported: int) -> None:
    """F() keeps concurrent settlers from losing each other's updates."""
    increments = {"run_count": F("run_count") + runs, "calculated_cost_micros": F("calculated_cost_micros") + calculated,
                  "actual_cost_micros": F("actual_cost_micros") + actual,
                  "reported_cost_micros": F("reported_cost_micros") + reported}
    rollup = KeyDailyCost.objects.filter(**group)
    if not rollup.update(**increments):  # the group's first run of the day
        KeyDailyCost.objects.get_or_create(**group)
        rollup.update(**increments)



ROLLUP_BATCH = 2000


@transaction.atomic
def key_daily_costs_replace(*, groups: Iterable[dict], rollup_model=KeyDailyCost) -> int:
    """Replaces every daily cost rollup row with `groups` (each a row's fields), in batches; returns how many it
    wrote. `rollup_model` is KeyDailyCost, or its historical model when a migration rebuilds the rollup."""
    rollup_model.objects.all().delete()
    written, groups = 0, iter(groups)
    while batch := [rollup_model(**group) for group in itertools.islice(groups, ROLLUP_BATCH)]:
        written += len(rollup_model.objects.bulk_create(batch))
    return written

MAX_CREDIT_MICROS = 10**15  # $1,000,000,000: far above any real top-up, far below the column's limit
# How each kind of ledger entry moves a wallet's (balance, held).
LEDGER_EFFECTS = {
    LedgerEntry.Kind.CREDIT: (1, 0), LedgerEntry.Kind.REFUND: (1, 0), LedgerEntry.Kind.CHARGE: (-1, 0),
    LedgerEntry.Kind.HOLD: (0, 1), LedgerEntry.Kind.RELEASE: (0, -1),
}


@transaction.atomic
def ledger_append(*, workspace_id: int, kind: str, amount_micros: int, run_id: str = "", note: str = "",
                  created_by=None) -> LedgerEntry:
    """Appends one entry and moves the wallet's sums by it in the same transaction, so they always agree."""
    balance, held = LEDGER_EFFECTS[kind]
    moved = {"balance_micros": F("balance_micros") + balance * amount_micros,
             "held_micros": F("held_micros") + held * amount_micros}
    if not Wallet.objects.filter(workspace_id=workspace_id).update(**moved):  # the workspace's first entry
        Wallet.objects.get_or_create(workspace_id=workspace_id)
        Wallet.objects.filter(workspace_id=workspace_id).update(**moved)
    return LedgerEntry.objects.create(workspace_id=workspace_id, kind=kind, amount_micros=amount_micros,
                                      run_id=run_id, note=note, created_by=created_by)


def wallet_credit(*, workspace: Workspace, amount_micros: int, note: str, created_by=None) -> LedgerEntry:
    """An operator's top-up of a workspace's wallet."""
    if not 0 < amount_micros <= MAX_CREDIT_MICROS:
        raise ApplicationError(400, f"A credit must be more than $0 and at most ${MAX_CREDIT_MICROS // 10**6:,}.")
    if not note.strip():
        raise ApplicationError(400, "Say why the wallet is credited: a credit needs a note.")
    return ledger_append(workspace_id=workspace.pk, kind=LedgerEntry.Kind.CREDIT, amount_micros=amount_micros,
                         note=note.strip(), created_by=created_by)


@transaction.atomic(savepoint=False)  # a refusal rolls back the caller's transaction too: no run, no hold
def wallet_hold(*, workspace_id: int, amount_micros: int, run_id: str) -> tuple[bool, int]:
    """Sets a run's estimated price aside, or refuses it with a 402 that names the shortfall. Returns whether the
    workspace has an active spend control and what the wallet held before this run, for spend_controls_check.

    One conditional UPDATE decides (statements.wallet_hold_take), and the row lock it takes means two runs
    admitted at once can never both spend the same money. The entry first and the wallet's row last: the row
    stays locked from that UPDATE until the commit, and every run of the workspace waits for it.
    """
    instances_insert([LedgerEntry(workspace_id=workspace_id, kind=LedgerEntry.Kind.HOLD, amount_micros=amount_micros,
                                  run_id=run_id)])
    taken = wallet_hold_take(workspace_id=workspace_id, amount_micros=amount_micros)
    if taken is None:
        wallet = Wallet.objects.filter(workspace_id=workspace_id).first()
        available = max(0, wallet.balance_micros - wallet.held_micros) if wallet else 0
        raise ApplicationError(402, f"The wallet cannot cover this run: it needs {micros_text(amount_micros)} and "
                                    f"{micros_text(available)} is available, {micros_text(amount_micros - available)} "
                                    "short. Ask an operator to credit the workspace's wallet, or use a monid_test_ key.")
    return taken


def _user_create(*, username: str, email: str, password: str):
    """A customer's account: never an operator (is_staff stays False). Usernames are unique whatever their case."""
    User = get_user_model()
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise _username_taken(username)
    try:
        with transaction.atomic():
            return User.objects.create_user(username, email=email.strip(), password=password)
    except IntegrityError:  # taken between the check and the insert
        raise _username_taken(username)


def _username_taken(username: str) -> ApplicationError:
    return ApplicationError(409, f"The username “{username}” is taken; choose another.")


def _free_slug(name: str) -> str:
    """The name's slug, or the first of slug-2, slug-3… not taken, found with one query."""
    base = slugify(name)[:40].strip("-") or "workspace"
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    return next(slug for slug in itertools.chain([base], (f"{base}-{n}" for n in itertools.count(2)))
                if slug not in taken)


@transaction.atomic
def account_sign_up(*, username: str, email: str, password: str, workspace_name: str):
    """A new customer and a new workspace of their own, named as they chose; returns the user."""
    workspace_name = workspace_name.strip()
    if not workspace_name or len(workspace_name) > 200:
        raise ApplicationError(400, "A workspace name must be 1 to 200 characters.")
    user = _user_create(username=username, email=email, password=password)
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(slug=_free_slug(workspace_name), name=workspace_name)
    except IntegrityError:  # another sign-up took the same slug between the read and the insert
        raise ApplicationError(409, "Another workspace was just given this name; send the form again.")
    workspace.members.add(user)
    return user


MAX_PENDING_INVITATIONS = 50  # per workspace: Monid sends the emails, so a member cannot make it send thousands


@transaction.atomic
def invitation_create(*, workspace: Workspace, email: str, invited_by) -> tuple[Invitation, str]:
    """A pending invitation and its token, which exists nowhere else after this call: only its HMAC is kept."""
    email = email.strip().lower()
    if workspace.members.filter(email__iexact=email).exists():
        raise ApplicationError(409, f"{email} is already a member of this workspace.")
    now = timezone.now()
    # A new link replaces the address's earlier pending one, so only the newest works.
    Invitation.objects.filter(workspace=workspace, email=email, accepted_at__isnull=True).delete()
    if Invitation.objects.filter(workspace=workspace, accepted_at__isnull=True, expires_at__gt=now).count() \
            >= MAX_PENDING_INVITATIONS:
        raise ApplicationError(429, f"This workspace has {MAX_PENDING_INVITATIONS} invitations waiting; cancel "
                                    "some, or wait for them to be accepted or to expire.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(workspace=workspace, email=email, token_hash=hash_key(token),
                                           invited_by=invited_by, created_at=now, expires_at=now + Invitation.VALID_FOR)
    return invitation, token


def invitation_send(*, invitation: Invitation, link: str) -> None:
    """Emails the invitation's link through settings.EMAIL_BACKEND (the console, unless configured)."""
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "A teammate"
    body = render_to_string("billing/invitation_email.txt",
                            {"invitation": invitation, "inviter": inviter, "link": link})
    send_mail(f"{inviter} invited you to {invitation.workspace.name} on Monid", body, None, [invitation.email])


def invitation_cancel(*, workspace: Workspace, email: str) -> None:
    """Withdraws the workspace's pending invitation to `email`: its link stops working at once."""
    deleted, _ = Invitation.objects.filter(workspace=workspace, email=email.strip().lower(),
                                           accepted_at__isnull=True).delete()
    if not deleted:
        raise ApplicationError(404, f"No invitation to {email} is waiting in this workspace.")


def invitation_check(*, invitation: Invitation, user) -> None:
    """Raises why `user` may not accept the invitation, if they may not."""
    if invitation.accepted_at is not None:
        raise ApplicationError(410, "This invitation was already used. Ask for a new one if you still need it.")
    if invitation.is_expired:
        raise ApplicationError(410, "This invitation has expired. Ask whoever invited you for a new one.")
    if user.email.strip().lower() != invitation.email:
        raise ApplicationError(403, f"This invitation was sent to {invitation.email}, and you are signed in as "
                                    f"{user.get_username()}, whose address is not that one. Log out, then open the "
                                    "link again to create an account for that address.")
    current = user.workspaces.order_by("id").first()
    if current == invitation.workspace:
        raise ApplicationError(409, f"You are already a member of {invitation.workspace.name}.")
    if current is not None:
        # The dashboard shows one workspace per account (queries.workspace_for_user).
        raise ApplicationError(409, f"Your account already belongs to the workspace {current.name}, and an "
                                    "account belongs to one workspace. Log out, then open the link again to "
                                    "create a separate account for this one.")


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> None:
    """Makes `user` a member of the invitation's workspace. One conditional UPDATE claims the invitation, so a
    link works once even when opened twice at the same moment."""
    invitation_check(invitation=invitation, user=user)
    now = timezone.now()
    if not Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=now).update(
            accepted_at=now, accepted_by=user):
        raise ApplicationError(410, "This invitation was already used. Ask for a new one if you still need it.")
    invitation.accepted_at, invitation.accepted_by = now, user
    invitation.workspace.members.add(user)


@transaction.atomic
def invitation_sign_up(*, invitation: Invitation, username: str, password: str):
    """A new customer who joins the invitation's workspace (and gets none of their own), under the address the
    invitation was sent to; returns the user."""
    user = _user_create(username=username, email=invitation.email, password=password)
    invitation_accept(invitation=invitation, user=user)
    return user


OAUTH_CODES_KEPT = datetime.timedelta(days=1)  # past expiry, so that a replayed code is still recognised
_PKCE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 section 4.1


def oauth_client_register(*, name: str, redirect_uris: list[str], auth_method: str,
                          scopes: Iterable[str]) -> tuple[OAuthClient, str | None]:
    """A self-registered MCP host and its secret (None for a public client), which exists nowhere else after this
    call: only its HMAC is kept. Its metadata was checked by the registration endpoint (billing.oauth)."""
    secret = None if auth_method == OAuthClient.AuthMethod.NONE else secrets.token_urlsafe(32)
    client = OAuthClient.objects.create(
        client_id=secrets.token_urlsafe(18), secret_hash=hash_key(secret) if secret else "", auth_method=auth_method,
        name=name, redirect_uris=redirect_uris,
        scope=" ".join(scope for scope in OAuthClient.SCOPES if scope in set(scopes)))
    return client, secret


def oauth_code_issue(*, client: OAuthClient, workspace: Workspace, user, redirect_uri: str, redirect_uri_given: bool,
                     code_challenge: str, scopes: Iterable[str], mode: str) -> str:
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
        code_hash=hash_key(code), client=client, workspace=workspace, approved_by=user, redirect_uri=redirect_uri,
        redirect_uri_given=redirect_uri_given, code_challenge=code_challenge, mode=mode,
        scopes=" ".join(scope for scope in OAuthClient.SCOPES if scope in set(scopes)), created_at=now,
        expires_at=now + OAuthCode.VALID_FOR)
    return code


def oauth_code_exchange(*, client: OAuthClient, code: str, redirect_uri: str | None,
                        code_verifier: str) -> tuple[ApiKey, str]:
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
        raise ApplicationError(400, "This authorization code was already used, and the key it gave is now revoked. "
                                    "Start the authorization again.")
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
        api_key, key = api_key_create(workspace=grant.workspace, label=label, mode=grant.mode,
                                      scopes=grant.scopes.split(), created_by=grant.approved_by)
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
    return next(label for label in itertools.chain([base], (f"{base} ({n})" for n in itertools.count(2)))
                if label not in taken)


def oauth_token_revoke(*, client: OAuthClient, token: str) -> None:
    """Revokes `token` if it is a key issued to `client`; anything else is left alone (RFC 7009 section 2.2)."""
    api_key = ApiKey.objects.filter(
        key_hash=hash_key(token), revoked_at__isnull=True,
        pk__in=OAuthCode.objects.filter(client=client, api_key__isnull=False).values("api_key")).first()
    if api_key is not None:
        api_key_revoke(api_key=api_key)
