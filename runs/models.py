from django.db import models
from django.utils import timezone

from billing.models import ApiKey, Workspace, new_ulid
from providers.models import Endpoint

new_run_id = new_ulid  # the name migrations refer to


class RunStatus(models.TextChoices):
    READY = "READY"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    BLOCKED = "BLOCKED"
    STOPPED = "STOPPED"
    TIME_OUT = "TIME_OUT"  # past its deadline; Monid's spelling, which its CLI waits for


class Run(models.Model):
    Status = RunStatus

    TERMINAL = (Status.COMPLETED, Status.FAILED, Status.BLOCKED, Status.STOPPED, Status.TIME_OUT)
    IN_FLIGHT = (Status.READY, Status.RUNNING, Status.STOPPING)

    # ULIDs sort by creation time, so ordering by id is "newest first" and keyset pagination needs no other column.
    id = models.CharField(primary_key=True, max_length=26, default=new_run_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="runs")
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="runs")
    # Indexed by runs_run_endpoint_newest below, which serves whatever a plain foreign key index would.
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="runs", db_index=False)
    is_test = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    input = models.JSONField()
    output = models.JSONField(null=True, blank=True)
    provider_http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_error = models.JSONField(null=True, blank=True)
    error_message = models.TextField(
        blank=True,
        help_text="Our own infrastructure error, never a stack trace, or why a spend control BLOCKED the run",
    )
    # A BLOCKED run's spend controls as they stood when it was refused, in micro-dollars (see billing.controls).
    controls = models.JSONField(null=True, blank=True)
    provider_run_id = models.CharField(max_length=100, blank=True)
    # The price as it was when the run was created, in micro-dollars.
    price_type = models.CharField(max_length=10, choices=Endpoint.PriceType.choices)
    price_micros = models.BigIntegerField()
    flat_fee_micros = models.BigIntegerField(default=0)
    # Set aside in the wallet at admission (live runs), given back when the run ends. It covers the units the
    # usage model estimated from the input; a run bills no more units than that, so its charge never exceeds it.
    held_micros = models.BigIntegerField(default=0)
    estimated_units = models.PositiveIntegerField(null=True, blank=True)
    billed_units = models.PositiveIntegerField(null=True, blank=True)
    calculated_cost_micros = models.BigIntegerField(default=0)
    actual_cost_micros = models.BigIntegerField(default=0)
    reported_cost_micros = models.BigIntegerField(default=0)
    result_count = models.PositiveIntegerField(null=True, blank=True)
    # True when the provider had more items than MONID_OUTPUT_MAX_BYTES holds; result_count counts what was kept.
    output_truncated = models.BooleanField(default=False)
    # When retention (runs/retention.py) dropped the output; the run, its costs and its ledger entries stay.
    output_expired_at = models.DateTimeField(null=True, blank=True)
    # Given by run_create, so that a sync run's started_at (the same instant) never precedes it.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # When the settler (services.runs_settle) released the run's hold, charged it and rolled it up on its key: null
    # while the run is in flight and for the moment between its end and its settlement, when its hold still counts.
    settled_at = models.DateTimeField(null=True, blank=True)
    # Execution bookkeeping: when the next step is due (null while one is queued or running, and once terminal),
    # which worker holds the step until when, when a step last showed life, and which worker that was.
    next_step_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid of the worker that took the last step")
    steps = models.PositiveIntegerField(default=0, help_text="Worker steps taken so far, counted as each is claimed")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["workspace", "-id"], name="runs_run_workspace_newest"),
            models.Index(fields=["workspace", "status", "-id"], name="runs_run_workspace_status"),
            models.Index(fields=["status", "-id"], name="runs_run_status_newest"),
            models.Index(fields=["api_key", "-id"], name="runs_run_key_newest"),
            # The runs list's filters (bench/pages.py): an endpoint's runs newest first at any depth, and the
            # rare HTTP classes (3xx, 5xx) found without reading the runs of every other class.
            models.Index(fields=["endpoint", "-id"], name="runs_run_endpoint_newest"),
            models.Index(fields=["provider_http_status", "-id"], name="runs_run_http_newest"),
            models.Index(fields=["status", "heartbeat_at"], name="runs_run_status_heartbeat"),
            # Only runs waiting for a step are in it, so the dispatcher's poll costs the same at any table size.
            models.Index(
                fields=["next_step_at"], name="runs_run_step_due", condition=models.Q(next_step_at__isnull=False)
            ),
            # Only runs still holding an output, so retention reads what it prunes, not every run since the first.
            models.Index(fields=["id"], name="runs_run_output_kept", condition=models.Q(output__isnull=False)),
            # A key's runs not yet settled, whose holds count against its spend limit at admission.
            models.Index(
                fields=["api_key"], name="runs_run_key_unsettled", condition=models.Q(settled_at__isnull=True)
            ),
            # The settler's queue: ended runs not yet settled, oldest end first; empty once it has caught up.
            models.Index(
                fields=["completed_at"],
                name="runs_run_to_settle",
                condition=models.Q(settled_at__isnull=True, completed_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=RunStatus.values), name="runs_run_status_valid"),
            models.CheckConstraint(
                condition=models.Q(
                    calculated_cost_micros__gte=0, actual_cost_micros__gte=0, reported_cost_micros__gte=0
                ),
                name="runs_run_costs_not_negative",
            ),
        ]

    def __str__(self):
        return self.id

    @property
    def is_terminal(self):
        return self.status in self.TERMINAL

    @property
    def output_kept_days(self):
        """How old the run was when retention dropped its output."""
        return (self.output_expired_at - self.created_at).days

    @property
    def is_stoppable(self):
        return self.endpoint.provider.is_async and self.status in (RunStatus.READY, RunStatus.RUNNING)


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key on POST /v1/run: the first request claims it, retries get the same run back.
    It belongs to the API key that sent it, so it never crosses keys, nor a test key's runs and a live one's."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="sha256 of the canonical JSON of the request body")
    # Null until the first request has created its run; what a retry gets back is derived from that run.
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="runs_idempotencykey_one_per_api_key")]
        indexes = [models.Index(fields=["created_at"], name="runs_idempotencykey_created")]

    def __str__(self):
        return f"{self.api_key_id}/{self.key}"


class RunEvent(models.Model):
    """One moment of a run's life, for the timeline on its page: created, each worker step (started at the
    provider, checked, collected), a stop asked for, resumed after a lost worker, ended. Only appended."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "id"], name="runs_runevent_timeline")]

    def __str__(self):
        return f"{self.run_id} {self.kind}"
