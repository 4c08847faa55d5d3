import datetime

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

# The largest input a run of an endpoint may send, in bytes of compact JSON, unless its connector file says
# otherwise (max_input_bytes): ample for any endpoint's parameters, and small enough that refusing a larger input
# costs little. A file may allow from the floor to the ceiling, which is well below the 2.5 MiB request body
# Django reads at most (DATA_UPLOAD_MAX_MEMORY_SIZE).
INPUT_MAX_BYTES, INPUT_MAX_BYTES_FLOOR, INPUT_MAX_BYTES_CEILING = 64 * 1024, 1024, 1024 * 1024


class Provider(models.Model):
    class Mode(models.TextChoices):
        SYNC = "sync"
        ASYNC = "async"

    class Protocol(models.TextChoices):
        HTTP = "http", "http: one synchronous JSON request"
        APIFY_ACTOR = "apify-actor", "apify-actor: an Apify actor run, started, followed and collected"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # Follows from the protocol (catalog services set it): kept as a column because the runs core filters on it.
    mode = models.CharField(max_length=5, choices=Mode.choices, editable=False)
    summary = models.CharField(max_length=300, blank=True, help_text="One line on what it offers")
    description = models.TextField(blank=True)
    doc_url = models.URLField(blank=True, help_text="The provider's own API documentation")
    home_url = models.URLField(blank=True)
    categories = models.JSONField(default=list, blank=True, help_text='e.g. ["people", "companies"]')
    protocol = models.CharField(max_length=20, choices=Protocol.choices, default=Protocol.HTTP)
    base_url = models.URLField(help_text="Where its API lives; <SLUG>_API_BASE_URL in the environment overrides it")
    auth = models.JSONField(
        default=dict,
        help_text='How the credential is sent: {"scheme": "bearer"}, '
        '{"scheme": "header", "name": "X-Api-Key"} or '
        '{"scheme": "query", "name": "api_key"}',
    )
    credential_name = models.CharField(
        max_length=100, blank=True, help_text="The environment variable holding its credential, e.g. APIFY_TOKEN"
    )
    timeouts = models.JSONField(default=dict, blank=True, help_text='{"connect_seconds": 5, "read_seconds": 30}')
    actual_cost = models.JSONField(
        default=dict,
        blank=True,
        help_text='How it reports what a call cost us: {"credits_header": "..."}, '
        '{"credits": "<JMESPath>"} or {"usd": "<JMESPath>"}',
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def is_async(self):
        return self.mode == self.Mode.ASYNC


class ProviderCredential(models.Model):
    """A provider's credential set by an operator in the dashboard, encrypted (providers.credentials); live runs
    send it instead of the environment variable the provider names."""

    provider = models.OneToOneField(
        Provider, on_delete=models.CASCADE, primary_key=True, related_name="dashboard_credential"
    )
    ciphertext = models.TextField(help_text="Fernet token under MONID_CREDENTIALS_KEY; never the credential itself")
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self):
        return f"credential of {self.provider_id}"


class Endpoint(models.Model):
    class PriceType(models.TextChoices):
        FREE = "FREE"
        PER_CALL = "PER_CALL"
        PER_RESULT = "PER_RESULT"
        CREDITS = "CREDITS"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="endpoints")
    path = models.CharField(max_length=200, help_text="As clients name it, e.g. /person/enrich")
    name = models.CharField(max_length=200, blank=True, help_text="A short title, e.g. Person enrichment")
    description = models.TextField(blank=True)
    method = models.CharField(max_length=6, default="POST", help_text="The HTTP method the provider's API takes")
    doc_url = models.URLField(blank=True, help_text="Documentation of this endpoint at the provider")
    notes = models.TextField(blank=True, help_text="What an agent should know before calling it, one note a line")
    tags = models.JSONField(default=list, blank=True, help_text='Words to find it by, e.g. ["person", "email"]')
    input_schema = models.JSONField(default=dict, help_text="JSON Schema that a run's input must satisfy")
    price_type = models.CharField(max_length=10, choices=PriceType.choices, default=PriceType.PER_CALL)
    price_micros = models.BigIntegerField(help_text="Price per call, per result or per credit, in micro-dollars")
    flat_fee_micros = models.BigIntegerField(default=0, help_text="PER_RESULT and CREDITS: added once per run")
    credit_cost_micros = models.BigIntegerField(
        default=0, help_text="What one provider credit costs us, in micro-dollars (PDL reports credits, not dollars)"
    )
    # The connector file's declarations (docs/connectors.md): how the provider is called, how a run is estimated,
    # capped and billed, which part of an answer is the output, and the recorded answers test mode replays.
    request = models.JSONField(
        default=dict,
        blank=True,
        help_text='http protocol: {"method": "GET", "path": "/v5/person/enrich", "params": "query"}',
    )
    usage = models.JSONField(
        default=dict, blank=True, help_text="The usage model's unit, evidence, estimate and provider cap"
    )
    output = models.JSONField(default=dict, blank=True, help_text='{"path": "<JMESPath>", "results": "<JMESPath>"}')
    fixtures = models.JSONField(default=dict, blank=True, help_text="Recorded answers by case, for test mode")
    deadline_seconds = models.PositiveIntegerField(
        default=600, help_text="A run still unfinished this long after it was created ends TIME_OUT, uncharged"
    )
    max_input_bytes = models.PositiveIntegerField(
        default=INPUT_MAX_BYTES,
        validators=[MinValueValidator(INPUT_MAX_BYTES_FLOOR), MaxValueValidator(INPUT_MAX_BYTES_CEILING)],
        help_text="The largest input a run may send, in bytes of compact JSON; a larger one is refused with a 413",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider__slug", "path"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "path"], name="providers_endpoint_path_unique_per_provider"),
            models.CheckConstraint(
                condition=models.Q(price_micros__gte=0, flat_fee_micros__gte=0),
                name="providers_endpoint_price_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.provider.slug} {self.path}"


class CatalogChange(models.Model):
    """One change an operator made to the catalog, kept for good: who, when, which provider or endpoint, and
    each changed field's value before and after."""

    class Action(models.TextChoices):
        CREATED = "created"
        CHANGED = "changed"
        DELETED = "deleted"

    at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=7, choices=Action.choices)
    # "provider apify" or "endpoint apify /apidojo/tweet-scraper": still readable once the row itself is gone.
    subject = models.CharField(max_length=300)
    changes = models.JSONField(default=dict, help_text='{"field": [before, after]}')

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject}"


class EndpointHealthSample(models.Model):
    """One endpoint's health over the window that ended at `at`, as runs.health found it.

    Each sampling writes one row per endpoint with a recent live run, all with the same `at`: an endpoint missing
    from the newest sampling is `unknown`.
    """

    class State(models.TextChoices):
        HEALTHY = "healthy"
        DEGRADED = "degraded"
        OUTAGE = "outage"
        UNKNOWN = "unknown"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="health_samples")
    at = models.DateTimeField()
    state = models.CharField(max_length=8, choices=State.choices)
    counted = models.PositiveIntegerField(help_text="Live runs that ended in the window COMPLETED, FAILED or TIME_OUT")
    successes = models.PositiveIntegerField(help_text="Those the provider did not fail (see runs.health)")
    median_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="The counted runs' median duration, in milliseconds"
    )
    p95_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Their 95th percentile duration, in milliseconds"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "at"], name="providers_healthsample_one_per_time"),
            models.CheckConstraint(
                condition=models.Q(successes__lte=models.F("counted")),
                name="providers_healthsample_successes_of_counted",
            ),
        ]
        # The newest sampling, the last day's history and the week-old rows to delete are all found by time.
        indexes = [models.Index(fields=["at"], name="providers_healthsample_at")]

    def __str__(self):
        return f"{self.endpoint_id} {self.at:%Y-%m-%d %H:%M} {self.state}"

    @property
    def success_percent(self) -> float | None:
        """Rounded down to a tenth, so that 94.96 % (degraded) never reads 95.0 %."""
        return self.successes * 1000 // self.counted / 10 if self.counted else None

    @property
    def median(self) -> datetime.timedelta | None:
        return None if self.median_ms is None else datetime.timedelta(milliseconds=self.median_ms)

    @property
    def p95(self) -> datetime.timedelta | None:
        return None if self.p95_ms is None else datetime.timedelta(milliseconds=self.p95_ms)
