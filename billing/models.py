from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """A customer: owns API keys, runs and (later) a wallet."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="workspaces", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.slug


class ApiKey(models.Model):
    class Mode(models.TextChoices):
        LIVE = "live"
        TEST = "test"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=Mode.choices, default=Mode.LIVE)
    # Only the first characters (for recognising a key) and an HMAC of the whole key are kept.
    prefix = models.CharField(max_length=24)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "label"], name="billing_apikey_label_unique_in_workspace"),
            models.CheckConstraint(condition=models.Q(mode__in=["live", "test"]), name="billing_apikey_mode_valid"),
        ]

    def __str__(self):
        return f"{self.workspace.slug}/{self.label}"

    @property
    def is_test(self):
        return self.mode == self.Mode.TEST


class KeyDailyCost(models.Model):
    """Per-key, per-day rollup of settled runs, so cost pages never scan runs."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="daily_costs")
    day = models.DateField()
    run_count = models.PositiveIntegerField(default=0)
    calculated_cost_micros = models.BigIntegerField(default=0)
    actual_cost_micros = models.BigIntegerField(default=0)
    reported_cost_micros = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "day"], name="billing_keydailycost_one_row_per_key_day"),
        ]
        indexes = [models.Index(fields=["day"], name="billing_keydailycost_day")]

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

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(held_micros__gte=0), name="billing_wallet_held_not_negative"),
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
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_micros__gt=0), name="billing_ledgerentry_amount_positive"),
            models.CheckConstraint(condition=models.Q(kind__in=["credit", "hold", "release", "charge", "refund"]),
                                   name="billing_ledgerentry_kind_valid"),
        ]
        indexes = [models.Index(fields=["workspace", "-id"], name="billing_ledgerentry_ws_newest")]

    def __str__(self):
        return f"{self.kind} {self.amount_micros} µ$"
