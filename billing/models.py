import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from ulid import ULID


def new_ulid():
    return str(ULID())


class Workspace(models.Model):
    """A customer: owns API keys, runs and (later) a wallet."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="workspaces", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.slug


class ApiKey(models.Model):
    """A key's mode says which runs it makes and sees (live or test); its scopes, what else it may do. It may
    expire, and may have a spend limit of its own: what its runs are charged in a UTC day, week or month."""

    class Mode(models.TextChoices):
        LIVE = "live"
        TEST = "test"

    # runs: make, read and stop its workspace's runs of its own mode (and read the wallet's balance); catalog:
    # discover and inspect endpoints; manage: keys, spend controls, wallet. Never manage for a test key.
    SCOPES = ("runs", "catalog", "manage")
    DEFAULT_SCOPES = ("runs", "catalog")
    SPEND_PERIODS = ("DAY", "WEEK", "MONTH")  # whole UTC days, so KeyDailyCost sums what a window spent

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.LIVE)
    # Space-separated, in SCOPES order, as OAuth writes scopes: "runs catalog manage".
    scopes = models.CharField(max_length=100, default="runs catalog")
    # Only the first characters (for recognising a key) and an HMAC of the whole key are kept.
    prefix = models.CharField(max_length=24)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Where the key was last used from, recorded with last_used_at (so at most a minute old).
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_user_agent = models.CharField(max_length=200, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Refused from then on; none: never expires")
    spend_limit_micros = models.BigIntegerField(
        null=True, blank=True, help_text="The most its live runs may be charged in a period"
    )
    spend_period = models.CharField(max_length=5, blank=True, choices=[(p, p) for p in SPEND_PERIODS])
    # The member who made it: who GET /v1/auth/whoami names. Keys made before it was kept got the workspace's first
    # member (migration 0011); none when the workspace had no member or the person was deleted.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "label"], name="billing_apikey_label_unique_in_workspace"),
            models.CheckConstraint(condition=models.Q(mode__in=["live", "test"]), name="billing_apikey_mode_valid"),
            models.CheckConstraint(
                condition=~models.Q(mode="test", scopes__contains="manage"), name="billing_apikey_test_never_manages"
            ),
            models.CheckConstraint(
                condition=models.Q(spend_limit_micros__isnull=True, spend_period="")
                | models.Q(spend_limit_micros__gte=0, spend_period__in=["DAY", "WEEK", "MONTH"]),
                name="billing_apikey_spend_limit_has_period",
            ),
        ]

    def __str__(self):
        return f"{self.workspace.slug}/{self.label}"

    @property
    def is_test(self):
        return self.mode == self.Mode.TEST

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class RequestWindow(models.Model):
    """A key's requests in one minute, for the rate limit where there is no Redis (billing.ratelimit)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    minute = models.BigIntegerField(help_text="Minutes since the Unix epoch")
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "minute"], name="billing_requestwindow_unique")]


class KeyDailyCost(models.Model):
    """Ended runs summed per key, UTC day, provider, endpoint and terminal status, so cost pages never scan runs.

    The transaction that ends a run adds it here (services.settlements_record), so the sums are exact. A month of
    a busy installation is a few thousand rows (keys x days x endpoints x statuses) however many runs it had:
    the cost page sums those, where summing the runs themselves would read every run of the month.
    """

    # The run's terminal statuses, as runs names them (billing does not import runs); a test keeps them equal.
    STATUSES = ("COMPLETED", "FAILED", "BLOCKED", "STOPPED", "TIME_OUT")

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="daily_costs")
    day = models.DateField(help_text="The UTC day the runs ended")
    # Strings, not foreign keys: billing knows nothing of providers or runs.
    provider = models.CharField(max_length=50, help_text="The provider's slug")
    endpoint = models.CharField(max_length=200, help_text="The endpoint's path")
    status = models.CharField(max_length=10, help_text="The runs' terminal status")
    run_count = models.PositiveIntegerField(default=0)
    calculated_cost_micros = models.BigIntegerField(default=0)
    actual_cost_micros = models.BigIntegerField(default=0)
    reported_cost_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Day first: this one index serves both the settlement's upsert (all five columns) and the cost
            # page's range of days; api_key has its own index, as every foreign key does.
            models.UniqueConstraint(
                fields=["day", "api_key", "provider", "endpoint", "status"],
                name="billing_keydailycost_one_row_per_group",
            )
        ]

    def __str__(self):
        return f"{self.api_key} {self.day}"


class Wallet(models.Model):
    """A workspace's money, in micro-dollars: the sums of its ledger, kept on one row.

    Every ledger entry moves these columns in the transaction that appends it, so the balance is read without
    summing the ledger, and admission can lock this one row to decide whether a run is affordable.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="wallet")
    balance_micros = models.BigIntegerField(default=0, help_text="Credits and refunds less charges")
    held_micros = models.BigIntegerField(default=0, help_text="Held for runs in flight, not yet charged")
    # Whether the workspace has an ACTIVE spend control: admission reads it with the hold it takes, and checks the
    # controls only when there are some. Kept by billing.controls, under this row's lock.
    controls_active = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(held_micros__gte=0), name="billing_wallet_held_not_negative")
        ]

    def __str__(self):
        return f"{self.workspace.slug} wallet"


class LedgerEntry(models.Model):
    """One movement of a wallet's money; entries are only ever appended, never edited or deleted."""

    class Kind(models.TextChoices):
        CREDIT = "credit"  # money in: an operator's top-up
        HOLD = "hold"  # set aside for a run in flight
        RELEASE = "release"  # a hold given back
        CHARGE = "charge"  # what a run cost the customer
        REFUND = "refund"  # a charge given back

    # Keyed by workspace, not wallet row, so appending needs no lookup of the wallet first.
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount_micros = models.BigIntegerField(help_text="Always positive; the kind says which way it moves")
    # The run (billing does not import runs: a ULID string) or the person that caused it.
    run_id = models.CharField(max_length=26, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_micros__gt=0), name="billing_ledgerentry_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["credit", "hold", "release", "charge", "refund"]),
                name="billing_ledgerentry_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="billing_ledgerentry_ws_newest")]

    def __str__(self):
        return f"{self.kind} {self.amount_micros} µ$"


class SpendControl(models.Model):
    """A limit a workspace sets on its own spending: a budget for each hour, day, week or month, or a cap on the
    price of any one run. A live run that would break an ACTIVE one is BLOCKED before it reaches a provider."""

    class Kind(models.TextChoices):
        BUDGET = "BUDGET"
        RUN_CAP = "RUN_CAP"

    class Period(models.TextChoices):
        HOUR = "HOUR"
        DAY = "DAY"
        WEEK = "WEEK"
        MONTH = "MONTH"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE"
        PAUSED = "PAUSED"

    id = models.CharField(primary_key=True, max_length=26, default=new_ulid, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="spend_controls")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    period = models.CharField(max_length=5, choices=Period.choices, blank=True, help_text="Budgets only")
    limit_micros = models.BigIntegerField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.ACTIVE)
    # Budgets: what was charged in the window that starts at window_start (UTC), moved by the transaction that
    # charges a run, so admission reads one small row instead of summing the ledger over the window.
    window_start = models.DateTimeField(null=True, blank=True)
    spent_micros = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One budget per period and one run cap (period "") per workspace.
            models.UniqueConstraint(fields=["workspace", "kind", "period"], name="billing_spendcontrol_one_per_period"),
            models.CheckConstraint(
                condition=models.Q(limit_micros__gte=0), name="billing_spendcontrol_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="BUDGET", period__in=["HOUR", "DAY", "WEEK", "MONTH"])
                | models.Q(kind="RUN_CAP", period=""),
                name="billing_spendcontrol_period_fits_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["ACTIVE", "PAUSED"]), name="billing_spendcontrol_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.workspace.slug} {self.name}"

    @property
    def name(self):
        return f"{self.period.lower()} budget" if self.kind == self.Kind.BUDGET else "run cap"


class Invitation(models.Model):
    """An invitation to join a workspace, emailed as a link; like an API key, its token is kept only as an HMAC."""

    VALID_FOR = datetime.timedelta(days=7)

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(help_text="Who it was sent to; only an account with this address may accept it")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="created_at + VALID_FOR")
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            # Inviting an address again replaces its pending invitation (accounts.invitation_create).
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=models.Q(accepted_at__isnull=True),
                name="billing_invitation_one_pending_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} to {self.workspace.slug}"

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()


class OAuthClient(models.Model):
    """An MCP host that registered itself (OAuth dynamic client registration, RFC 7591), so that it can connect
    without a pasted key. Anyone may register one: it can do nothing until a member approves it, and then only
    with the API key that approval makes."""

    class AuthMethod(models.TextChoices):
        NONE = "none"  # a public client (a desktop host): PKCE alone ties its code to it
        BASIC = "client_secret_basic"
        POST = "client_secret_post"

    # What an approval may grant: making and reading runs, and the catalog; never manage (keys, controls, wallet).
    SCOPES = ("runs", "catalog")

    client_id = models.CharField(max_length=64, unique=True)
    # Only an HMAC of the secret is kept (billing.keys.hash_key), as for keys; none for a public client.
    secret_hash = models.CharField(max_length=64, blank=True)
    auth_method = models.CharField(max_length=19, choices=AuthMethod.choices)
    name = models.CharField(max_length=100, blank=True, help_text="The client's own claim, shown as such")
    redirect_uris = models.JSONField(default=list)
    scope = models.CharField(max_length=100, help_text="Space-separated, some of SCOPES")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(auth_method="none", secret_hash="")
                | (models.Q(auth_method__in=["client_secret_basic", "client_secret_post"]) & ~models.Q(secret_hash="")),
                name="billing_oauthclient_secret_fits_method",
            )
        ]

    def __str__(self):
        return f"{self.name or 'unnamed'} ({self.client_id})"


class OAuthCode(models.Model):
    """An authorization code: a member's approval of a client for their workspace, to be exchanged once, within
    VALID_FOR, by that client with the PKCE verifier of code_challenge, for an API key."""

    VALID_FOR = datetime.timedelta(minutes=1)

    # Like a key, the code is kept only as an HMAC.
    code_hash = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="codes")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.CharField(max_length=500)
    # Whether the authorization request named redirect_uri: then the token request must name the same (RFC 6749).
    redirect_uri_given = models.BooleanField(default=True)
    code_challenge = models.CharField(max_length=128, help_text="BASE64URL(SHA256(code_verifier)), unpadded")
    scopes = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=ApiKey.Mode.choices)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="created_at + VALID_FOR")
    used_at = models.DateTimeField(null=True, blank=True)
    # The key its exchange made; revoked should the code be presented again (RFC 6749 section 4.1.2).
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=["live", "test"]), name="billing_oauthcode_mode_valid")
        ]

    def __str__(self):
        return f"code for {self.client} in {self.workspace.slug}"
