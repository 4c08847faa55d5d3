import contextlib
import datetime
import functools
import hashlib
import itertools
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.controls import ControlState, KeyLimitState, spend_controls_check
from billing.costs import Costs, run_costs
from billing.models import ApiKey, KeyDailyCost
from billing.services import Settlement, settlements_record, wallet_hold
from monid_site import logs, metrics
from monid_site.errors import ApplicationError
from monid_site.sql import instances_insert, row_update
from providers.engine import (
    ProviderAnswer,
    ProviderProgress,
    ProviderTimeout,
    ProviderUnavailable,
    protocol_for,
    unavailable_reason,
)
from providers.engine.usage import PER_UNIT, units_estimate, units_price_micros
from providers.models import Endpoint, Provider

from . import queue
from .inputs import INPUT_MAX_DEPTH, ShortMessagesValidator, input_text, input_too_deep, size_text
from .models import IdempotencyKey, Run, RunEvent, new_run_id
from .rollup import cost_rollup_build

logger = logging.getLogger("monid.runs")

COMPOSITE_KEYS = {"body", "queryParams", "pathParams"}
INPUT_ERRORS_SHOWN, INPUT_ERROR_CHARS = 20, 300  # of an input that fails its schema: failures listed, their length
# A step's claim on its run, renewed four times a lease while the step runs: it lapses only when the worker died.
LEASE = datetime.timedelta(seconds=settings.MONID_RUN_LEASE_SECONDS)
HEARTBEAT_SECONDS = settings.MONID_RUN_LEASE_SECONDS / 4
# A run with no step due, queued or running, and no sign of life for this long, lost its task. Longer than a
# task should ever wait in the broker, since a run resumed too early is merely checked twice.
STALL = datetime.timedelta(seconds=settings.MONID_RUN_STALL_SECONDS)
# Status checks of a provider run: see run_check_delay.
CHECK_MIN_SECONDS, CHECK_AGE_FRACTION, CHECK_MAX_SECONDS = 0.5, 0.2, 30.0
# How far the provider's clock may be behind ours, when looking for a provider run a crash left behind.
PROVIDER_CLOCK_SKEW = datetime.timedelta(minutes=1)
# Due runs per task: fewer tasks to queue, while one slow check delays only a few others.
DISPATCH_BATCH = 10
# Stalled runs resumed per UPDATE: well under SQLite's limit on a statement's parameters.
RECONCILE_BATCH = 1000
# Ended runs settled per transaction: one wallet UPDATE per workspace each; the batch's wallet rows stay locked
# until it commits, so it must stay short.
SETTLE_BATCH = 500
SETTLED_FIELDS = (
    "id",
    "workspace_id",
    "api_key_id",
    "status",
    "completed_at",
    "is_test",
    "held_micros",
    "provider_http_status",
    "calculated_cost_micros",
    "actual_cost_micros",
    "reported_cost_micros",
    "endpoint__path",
    "endpoint__provider__slug",
)
INTERNAL_ERROR = "An internal error in Monid ended this run; it was not charged."


def run_input_flatten(raw: dict) -> dict:
    """The composite form {body, queryParams, pathParams} becomes the flat parameter object providers take."""
    if raw and set(raw) <= COMPOSITE_KEYS:
        for key, part in raw.items():
            if not isinstance(part, dict):
                raise ApplicationError(
                    400, f"input.{key} must be an object.", [{"path": f"input.{key}", "message": "must be an object"}]
                )
        return {**raw.get("pathParams", {}), **raw.get("queryParams", {}), **raw.get("body", {})}
    return raw


def run_input_bound(*, endpoint: Endpoint, raw_input: dict) -> None:
    """Refuses an input larger than its endpoint takes, or nested deeper than any does, before anything else walks
    it: checking, storing and sending an input cost more the larger it is, and a refusal must stay cheap."""
    text = input_text(raw_input)
    size = len(text.encode())
    if size > endpoint.max_input_bytes:
        raise ApplicationError(
            413,
            f"input is {size_text(size)} as compact JSON; {endpoint.provider.slug} "
            f"{endpoint.path} takes at most {size_text(endpoint.max_input_bytes)}. Send a "
            "smaller input, or split it over several runs.",
        )
    if input_too_deep(raw_input, text):
        raise ApplicationError(
            400,
            f"input nests arrays and objects more than {INPUT_MAX_DEPTH} deep, and no "
            "endpoint takes one nested that deep.",
        )


def run_input_validate(*, endpoint: Endpoint, params: dict) -> None:
    """Checks the input against the endpoint's JSON Schema and names the failing paths: the first
    INPUT_ERRORS_SHOWN found, each message describing the failing value (never repeating a large one) and cut at
    INPUT_ERROR_CHARS, so that an input failing everywhere is refused as cheaply as one failing once, in a short
    answer."""
    validator = _schema_validator(json.dumps(endpoint.input_schema, sort_keys=True))
    found = list(itertools.islice(validator.iter_errors(params), INPUT_ERRORS_SHOWN + 1))
    errors = sorted(found[:INPUT_ERRORS_SHOWN], key=lambda e: [str(part) for part in e.path])
    if errors:
        details = [
            {"path": _shortened(".".join(["input", *map(str, e.path)])), "message": _schema_message(e)} for e in errors
        ]
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in details[:3])
        more = f" (and more: the first {INPUT_ERRORS_SHOWN} are listed)" if len(found) > INPUT_ERRORS_SHOWN else ""
        raise ApplicationError(
            400,
            f"input does not match the schema of {endpoint.provider.slug} {endpoint.path}: {summary}{more}",
            details,
        )


def _shortened(text: str) -> str:
    return text if len(text) <= INPUT_ERROR_CHARS else text[: INPUT_ERROR_CHARS - 1] + "…"


@functools.lru_cache(maxsize=1024)
def _schema_validator(schema_text: str) -> ShortMessagesValidator:
    """One validator per version of a schema (its canonical text), built once per process: building one costs
    more than most validations. An edited schema is new text, so it can never be checked against the old one."""
    return ShortMessagesValidator(json.loads(schema_text), format_checker=ShortMessagesValidator.FORMAT_CHECKER)


def _schema_message(error) -> str:
    # "is not valid under any of the given schemas" helps nobody; the schema's own description says what is wanted.
    if error.validator in ("anyOf", "oneOf") and error.schema.get("description"):
        return _shortened(f"not enough to go on. {error.schema['description']}")
    return _shortened(error.message)


def run_create(*, api_key: ApiKey, endpoint: Endpoint, raw_input: dict, idempotency_key: str | None = None) -> Run:
    """Validates and stores a new run, or a BLOCKED one when a spend control forbids it, with the request's
    Idempotency-Key claim pointed at it. A sync run is stored RUNNING: the request calls the provider as soon as
    this commits. The dispatcher, woken, hands an async run to a worker once it is committed."""
    run_input_bound(endpoint=endpoint, raw_input=raw_input)
    params = run_input_flatten(raw_input)
    run_input_validate(endpoint=endpoint, params=params)
    provider = endpoint.provider
    unavailable = unavailable_reason(endpoint, sandbox=api_key.is_test)
    if unavailable:
        raise ApplicationError(503, unavailable)
    units = units_estimate(
        usage=endpoint.usage, price_type=endpoint.price_type, params=params, subject=f"{provider.slug} {endpoint.path}"
    )
    fields = {
        "id": new_run_id(),
        "workspace_id": api_key.workspace_id,
        "api_key": api_key,
        "endpoint": endpoint,
        "is_test": api_key.is_test,
        "input": raw_input,
        "price_type": endpoint.price_type,
        "price_micros": endpoint.price_micros,
        "flat_fee_micros": endpoint.flat_fee_micros,
        "estimated_units": units,
    }
    # Test runs are never charged, so neither the wallet nor the spend controls have a say in them.
    estimate = (
        0
        if api_key.is_test
        else units_price_micros(
            price_type=endpoint.price_type,
            price_micros=endpoint.price_micros,
            flat_fee_micros=endpoint.flat_fee_micros,
            units=units,
        )
    )
    try:
        with transaction.atomic():  # the hold and the run stand or fall together: a 402 or a block leaves neither
            if not provider.is_async:
                _commit_without_flush()  # run_finish's commit makes the run durable before it is answered
            now = timezone.now()
            run = Run(
                **fields,
                created_at=now,
                held_micros=estimate,
                status=Run.Status.RUNNING,
                # An async run's first step is due at once: the dispatcher hands it out with others, in one task.
                next_step_at=now if provider.is_async else None,
                started_at=None if provider.is_async else now,
            )
            instances_insert([run])
            if provider.is_async:  # a sync run's timeline is written whole when it ends: see run_execute_sync
                instances_insert([_event(run, "created", at=run.created_at)])
                transaction.on_commit(queue.wake)  # the dispatcher, idle, may be waiting for a while
            if idempotency_key is not None:
                IdempotencyKey.objects.filter(api_key=api_key, key=idempotency_key).update(run=run)
            if estimate:  # last, so the wallet's row is locked for as short a time as can be
                controls_active, held = wallet_hold(
                    workspace_id=api_key.workspace_id, amount_micros=estimate, run_id=run.pk
                )
                if controls_active or api_key.spend_limit_micros is not None:
                    blocked = spend_controls_check(
                        api_key=api_key,
                        amount_micros=estimate,
                        controls_active=controls_active,
                        held_micros=held,
                        key_held_micros=lambda: _key_held_micros(api_key, other_than=run.pk),
                    )
                    if blocked:
                        raise _Blocked(blocked)  # rolls back the run and its hold
            return run
    except _Blocked as refused:
        # In a transaction of its own: the check's lock on the wallet row is gone, so recording the run cannot
        # wait on a settlement that waits on that lock.
        return _run_block(fields=fields, states=refused.states, idempotency_key=idempotency_key)


class _Blocked(Exception):
    """A spend control refused the run being admitted."""

    def __init__(self, states: list[ControlState | KeyLimitState]):
        super().__init__()
        self.states = states


def _key_held_micros(api_key: ApiKey, *, other_than: str) -> int:
    """What the key's other runs not yet settled hold: those in flight, and those ended whose charge the settler
    has not yet counted on the key (the runs_run_key_unsettled index reads only those)."""
    return (
        Run.objects.filter(api_key=api_key, settled_at__isnull=True)
        .exclude(pk=other_than)
        .aggregate(total=Sum("held_micros"))["total"]
        or 0
    )


@transaction.atomic
def _run_block(*, fields: dict, states: list[ControlState | KeyLimitState], idempotency_key: str | None) -> Run:
    """Stores a run that a spend control refused: never sent to a provider, never charged."""
    now = timezone.now()
    run = Run.objects.create(
        **fields,
        status=Run.Status.BLOCKED,
        completed_at=now,
        error_message=next(state for state in states if state.blocks).reason(),
        controls=[state.snapshot() for state in states],
    )
    _events_write(
        [_event(run, "created", at=run.created_at), _event(run, "ended", _ended_detail(status=run.status), at=now)]
    )
    if idempotency_key is not None:
        IdempotencyKey.objects.filter(api_key_id=run.api_key_id, key=idempotency_key).update(run=run)
    return run  # the settler counts it on its key


def _commit_without_flush() -> None:
    """Lets this transaction's commit return before PostgreSQL has flushed it to disk (about 2 ms saved), for
    writes that a later commit of the same request, which does wait, makes durable before the client hears of
    them: the log is flushed in order, so flushing that commit flushes this one. A crash of the database server
    in between loses both, and the client, whose request died with it, was answered nothing. (SQLite's WAL
    mode with synchronous=NORMAL never waits for the disk on commit.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def run_units_covered(run: Run) -> int | None:
    """The most units a run may bill (None: its price is not per unit). A per-unit run was held for its
    estimated units, so billing no more keeps its charge within its hold."""
    return run.estimated_units if run.price_type in PER_UNIT else None


def _cap_hold(run: Run) -> int:
    """The hold a run's provider caps follow: a live run's own; a test run's as if it were live, so that it
    sends the provider exactly what a live one would."""
    return units_price_micros(
        price_type=run.price_type,
        price_micros=run.price_micros,
        flat_fee_micros=run.flat_fee_micros,
        units=run.estimated_units,
    )


def _protocol(run: Run, params: dict):
    return protocol_for(run.endpoint, sandbox=run.is_test, params=params)


def run_execute_sync(*, run: Run) -> Run:
    """Calls a synchronous provider in the request; whatever the provider answers completes the run."""
    if run.status != Run.Status.RUNNING:
        return run  # BLOCKED at admission: never sent to the provider
    endpoint = run.endpoint
    logs.context_add(run_id=run.pk, provider=endpoint.provider.slug)  # for the rest of the request's log lines
    events = _sync_run_events(run)
    params = run_input_flatten(run.input)
    try:
        answer = _protocol(run, params).call(
            params=params,
            units=run.estimated_units or 1,
            hold=_cap_hold(run),
            timeout_seconds=endpoint.deadline_seconds,
        )
    except ProviderTimeout:
        return run_finish(run=run, status=Run.Status.TIME_OUT, error_message=_deadline_message(endpoint), events=events)
    except ProviderUnavailable as exc:
        return run_finish(run=run, status=Run.Status.FAILED, error_message=str(exc), events=events)
    except Exception:
        logger.exception("Run %s failed unexpectedly", run.id)
        return run_finish(run=run, status=Run.Status.FAILED, error_message=INTERNAL_ERROR, events=events)
    return run_finish(run=run, status=Run.Status.COMPLETED, answer=answer, events=events)


def _sync_run_events(run: Run) -> list[RunEvent]:
    """A sync run's timeline up to its provider call, written with its end, in run_finish's one INSERT: the
    request that carries the run then writes nothing of its own besides creating and ending it."""
    return [_event(run, "created", at=run.created_at), _event(run, "started", at=run.started_at)]


def _deadline_message(endpoint: Endpoint) -> str:
    return f"The run passed its {endpoint.deadline_seconds} s deadline; it was stopped and not charged."


def runs_advance(*, run_ids: Sequence[str]) -> None:
    """One short worker step for each of these async runs: start it at the provider, check on it, or collect
    its result.

    Every decision is taken from the row, so a step that runs twice, or after a crash, picks up where the last
    one left off. A lease on each row keeps two workers from taking the same step at once. A step never waits
    for the provider's run to end: it books its next check in `next_step_at` and frees the worker, so a few
    workers follow thousands of runs; the dispatcher hands due runs back to them, several to a task, which
    takes and releases their leases in one statement each.
    """
    worker, now = f"{socket.gethostname()}:{os.getpid()}", timezone.now()
    lease_until = now + LEASE
    if not (
        Run.objects.filter(pk__in=run_ids)
        .exclude(status__in=Run.TERMINAL)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease_until, heartbeat_at=now, next_step_at=None, worker=worker, steps=F("steps") + 1)
    ):
        return
    # Ours are the rows this very update leased: this process runs one task at a time, and the instant is unique.
    runs = list(
        Run.objects.filter(pk__in=run_ids, worker=worker, lease_until=lease_until)
        .select_related("endpoint__provider")
        .defer("endpoint__fixtures")
    )  # live steps never read them
    # The timeline entries of these steps, written in one INSERT after them (or with a run's end, by run_finish).
    due, events = {}, []
    with _heartbeat.holding([run.pk for run in runs], worker):
        for run in runs:
            with logs.run_context(run):
                try:
                    delay = _advance_step(run, events)
                except Exception:
                    # Only our own database failing gets here (the step fails the run on anything else): try later.
                    logger.exception("Run %s: its step failed; it is tried again shortly", run.pk)
                    delay = CHECK_MAX_SECONDS
            if delay is not None:
                due[run.pk] = timezone.now() + datetime.timedelta(seconds=delay)
    # Runs that ended were cleared by run_finish, and the status filter keeps this release from reviving them;
    # the worker filter, from touching a run whose lease another worker took after ours lapsed.
    (
        Run.objects.filter(pk__in=[run.pk for run in runs], worker=worker)
        .exclude(status__in=Run.TERMINAL)
        .update(
            lease_until=None,
            next_step_at=Case(
                *(When(pk=pk, then=Value(at)) for pk, at in due.items()), default=None, output_field=DateTimeField()
            ),
        )
    )
    _events_write(events)
    if due:  # an idle dispatcher sleeps until the earliest step it knew of, which these may come before
        queue.wake()


def _enqueue_steps(*run_ids: str) -> None:
    queue.enqueue("runs.tasks.advance_runs", *run_ids, name=f"run {run_ids[0]}" + ("…" if len(run_ids) > 1 else ""))


class _Heartbeat:
    """One thread per worker process renews the leases of whatever runs the process's current step holds, so
    a slow dataset read or a retry wait never lets one lapse: a lease runs out only when its worker has died,
    and the reconciler can then resume at once. One thread for the process's life, not one per step."""

    def __init__(self):
        self.lock, self.held, self.thread = threading.Lock(), {}, None

    @contextlib.contextmanager
    def holding(self, run_ids: list[str], worker: str):
        with self.lock:
            if self.thread is None or not self.thread.is_alive():  # none yet, or this process was forked
                self.thread = threading.Thread(target=self.renew_forever, name="run leases", daemon=True)
                self.thread.start()
            self.held.update(dict.fromkeys(run_ids, worker))
        try:
            yield
        finally:
            with self.lock:
                for run_id in run_ids:
                    self.held.pop(run_id, None)

    def renew_forever(self):
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self.lock:
                held = dict(self.held)
            try:
                if held:
                    now = timezone.now()
                    Run.objects.filter(
                        pk__in=list(held), worker__in=set(held.values()), lease_until__isnull=False
                    ).update(lease_until=now + LEASE, heartbeat_at=now)
            except DatabaseError:
                # A locked or restarting database must not end the renewals: the next beat tries again, well
                # before the lease (four beats long) runs out.
                logger.warning("Could not renew the leases of runs %s; trying again shortly", ", ".join(held))
            finally:
                connection.close()  # nothing held for long: no idle connection kept open


_heartbeat = _Heartbeat()


def run_check_delay(run: Run, deadline: datetime.datetime) -> float:
    """Seconds until the next status check: a fifth of the run's age so far, within bounds, never past the
    deadline. Following a run then costs a few checks per doubling of its length, and a result is picked up
    at most a fifth of the run's duration (and never more than CHECK_MAX_SECONDS) after it is ready."""
    now = timezone.now()
    age = (now - (run.started_at or now)).total_seconds()
    delay = min(CHECK_MAX_SECONDS, max(CHECK_MIN_SECONDS, CHECK_AGE_FRACTION * age))
    return max(0.0, min(delay, (deadline - now).total_seconds()))


def _advance_step(run: Run, events: list[RunEvent]) -> float | None:
    """The body of a step; the seconds until the next one, or None when the run has ended. Appends what it did
    to `events` for the timeline; run_finish writes them when the step ends the run."""
    endpoint = run.endpoint
    params = run_input_flatten(run.input)
    deadline = run.created_at + datetime.timedelta(seconds=endpoint.deadline_seconds)
    try:
        protocol = _protocol(run, params)
        if run.status == Run.Status.STOPPING:
            run_stop_at_provider(run=run, protocol=protocol, events=events)
            return None
        if not run.provider_run_id:
            if timezone.now() >= deadline:
                run_finish(
                    run=run, status=Run.Status.TIME_OUT, error_message=_deadline_message(endpoint), events=events
                )
                return None
            # A crash after the provider accepted a start and before its run id is stored below would have a
            # successor start it again. So a run that an earlier step took, and that has no provider run yet,
            # first looks for one that step may have left behind, and adopts it.
            sent = {"params": params, "units": run.estimated_units or 1, "hold": _cap_hold(run)}
            adopted = (
                protocol.find_left_behind(since=run.created_at - PROVIDER_CLOCK_SKEW, recorded=_recorded, **sent)
                if run.steps > 1
                else None
            )
            if adopted:
                logger.info("Run %s adopted provider run %s, which an interrupted start left behind", run.pk, adopted)
            started = adopted or protocol.start(**sent)
            if isinstance(started, ProviderAnswer):
                run_finish(run=run, status=Run.Status.COMPLETED, answer=started, events=events)
                return None
            provider_run_id = adopted or started.run_id
            unstored, now = Run.objects.filter(pk=run.pk, provider_run_id=""), timezone.now()
            events.append(_event(run, "adopted" if adopted else "started", provider_run_id, at=now))
            if not unstored.filter(status=Run.Status.RUNNING).update(provider_run_id=provider_run_id, started_at=now):
                unstored.update(provider_run_id=provider_run_id, started_at=now)  # stopped while it was starting
                run_stop_at_provider(run=run, protocol=protocol, events=events)
                return None
            run.provider_run_id, run.started_at = provider_run_id, now
            return run_check_delay(run, deadline)
        if timezone.now() >= deadline:
            stopped = protocol.stop(run_id=run.provider_run_id)
            run_finish(
                run=run,
                status=Run.Status.TIME_OUT,
                error_message=_deadline_message(endpoint),
                actual_cost_micros=stopped.actual_cost_micros,
                events=events,
            )
            return None
        progress = protocol.check(run_id=run.provider_run_id)
        events.append(_event(run, "checked", progress.detail))
        if progress.state == ProviderProgress.RUNNING:
            return run_check_delay(run, deadline)
        if progress.state == ProviderProgress.STOPPED:
            run_finish(
                run=run, status=Run.Status.STOPPED, actual_cost_micros=progress.actual_cost_micros, events=events
            )
        else:
            # Results are the billed units of a per-result price: no more are kept than the run was held for.
            answer = protocol.collect(
                progress,
                max_bytes=settings.MONID_OUTPUT_MAX_BYTES,
                max_items=run_units_covered(run) if run.price_type == "PER_RESULT" else None,
            )
            if answer.result_count is not None:
                events.append(
                    _event(
                        run,
                        "collected",
                        _results_text(answer.result_count)
                        + (", more left at the provider" if answer.output_truncated else ""),
                    )
                )
            run_finish(run=run, status=Run.Status.COMPLETED, answer=answer, events=events)
    except ProviderUnavailable as exc:
        run_finish(run=run, status=Run.Status.FAILED, error_message=str(exc), events=events)
    except Exception:
        # A bug must not leave the run RUNNING forever: the client is told it failed, the log keeps the trace.
        logger.exception("Run %s failed unexpectedly", run.id)
        run_finish(run=run, status=Run.Status.FAILED, error_message=INTERNAL_ERROR, events=events)
    return None


def _recorded(provider_run_ids: list[str]) -> set[str]:
    """Which of these provider runs a run of ours already holds: those are never adopted."""
    return set(Run.objects.filter(provider_run_id__in=provider_run_ids).values_list("provider_run_id", flat=True))


def runs_dispatch(*, limit: int = 1000) -> int:
    """Hands runs whose next step is due to the workers, a few per task; returns how many.

    The claim clears `next_step_at` before the tasks are queued: a claim whose tasks never reach the broker
    looks like a lost task, which the reconciler resumes. SKIP LOCKED lets several dispatchers share the work
    on PostgreSQL; SQLite has one writer at a time, where a second dispatcher only queues harmless duplicates.
    """
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Run.objects.filter(next_step_at__lte=now)
            .order_by("next_step_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        Run.objects.filter(pk__in=due).update(next_step_at=None, heartbeat_at=now)
    for i in range(0, len(due), DISPATCH_BATCH):
        _enqueue_steps(*due[i : i + DISPATCH_BATCH])
    return len(due)


def runs_reconcile() -> dict:
    """Resumes runs whose step stalled (a lost task, a killed worker) from the state stored on their row.

    An async run whose lease ran out (its worker died: a live one keeps renewing it), or that has had no step
    due, queued or running for STALL (its task was lost), is made due again and resumes from the provider's
    run id; a sync run whose request died with it can only be failed, uncharged.
    """
    now = timezone.now()
    stalled = (
        Run.objects.exclude(status__in=Run.TERMINAL)
        .filter(next_step_at__isnull=True)
        .alias(last_seen=Coalesce("heartbeat_at", "created_at"))
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, last_seen__lt=now - STALL))
    )
    resumed = 0
    with transaction.atomic():
        # Locked, so that two reconcilers never both resume (and record) the same run; normally none is found.
        lost = list(
            stalled.filter(endpoint__provider__mode=Provider.Mode.ASYNC)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "lease_until")
        )
        for i in range(0, len(lost), RECONCILE_BATCH):
            resumed += stalled.filter(pk__in=[pk for pk, _ in lost[i : i + RECONCILE_BATCH]]).update(next_step_at=now)
        _events_write(
            [
                RunEvent(
                    run_id=pk,
                    at=now,
                    kind="resumed",
                    detail=(
                        "its worker stopped renewing its lease"
                        if lease_until
                        else f"its step was lost: no sign of life for {STALL.total_seconds():.0f} s"
                    ),
                )
                for pk, lease_until in lost
            ]
        )
    failed = 0
    for run in stalled.filter(endpoint__provider__mode=Provider.Mode.SYNC).select_related("endpoint"):
        if now - run.created_at > datetime.timedelta(seconds=run.endpoint.deadline_seconds) + STALL:
            run_finish(
                run=run,
                status=Run.Status.FAILED,
                events=_sync_run_events(run),
                error_message="The request running this run was lost; it was not charged.",
            )
            failed += 1
    return {"resumed": resumed, "failed": failed}


@transaction.atomic
def run_stop(*, run: Run) -> Run:
    """Asks for an async run to be stopped; a worker aborts it at the provider and ends it STOPPED."""
    if not run.endpoint.provider.is_async:
        raise ApplicationError(409, "A synchronous run ends within its own request; there is nothing to stop.")
    if not Run.objects.filter(pk=run.pk, status__in=[Run.Status.READY, Run.Status.RUNNING]).update(
        status=Run.Status.STOPPING
    ):
        run.refresh_from_db(fields=["status"])
        raise ApplicationError(409, f"Run {run.id} is {run.status}; only a READY or RUNNING run can be stopped.")
    RunEvent.objects.create(run=run, at=timezone.now(), kind="stop_asked")
    transaction.on_commit(lambda: queue.enqueue("runs.tasks.stop_run", run.id, name=f"stop {run.id}"))
    run.refresh_from_db(fields=["status"])
    return run


def run_stop_at_provider(*, run: Run, protocol=None, events: list[RunEvent] | None = None) -> None:
    """Aborts the provider's run, if one was started, and ends ours STOPPED with whatever the provider billed."""
    run.refresh_from_db(fields=["status", "provider_run_id"])
    actual = 0
    if run.provider_run_id:
        protocol = protocol or _protocol(run, run_input_flatten(run.input))
        try:
            actual = protocol.stop(run_id=run.provider_run_id).actual_cost_micros
        except ProviderUnavailable as exc:
            # Our run still ends: the customer asked to stop and is not charged; the operator sees the log.
            logger.warning("Run %s: could not abort provider run %s: %s", run.id, run.provider_run_id, exc)
    run_finish(run=run, status=Run.Status.STOPPED, actual_cost_micros=actual, events=events)


@transaction.atomic
def run_finish(
    *,
    run: Run,
    status: str,
    answer: ProviderAnswer | None = None,
    error_message: str = "",
    actual_cost_micros: int = 0,
    events: list[RunEvent] | None = None,
) -> Run:
    """Ends a run once and for all: records the answer, its three costs and its timeline, in one UPDATE and one
    INSERT. Its hold stays taken until runs_settle releases it and charges the run, off the request's path.

    `actual_cost_micros` is what the provider billed when there is no answer (an aborted run still costs us).
    `events` are the caller's timeline entries not yet written (its step's): they are written here, ahead of
    the ended one and in the same INSERT, and the list is emptied.
    """
    now = timezone.now()
    http_status = answer.http_status if answer else None
    provider_ok = http_status is not None and 200 <= http_status < 300
    result_count = answer.result_count if answer and provider_ok else None
    billed_units = _units_billed(run, answer.billed_units) if answer and provider_ok else None
    calculated = units_price_micros(
        price_type=run.price_type,
        price_micros=run.price_micros,
        flat_fee_micros=run.flat_fee_micros,
        units=billed_units,
    )
    costs = run_costs(
        calculated_micros=calculated,
        provider_http_status=http_status,
        completed=status == Run.Status.COMPLETED,
        actual_micros=answer.actual_cost_micros if answer else actual_cost_micros,
        is_test=run.is_test,
    )
    fields = {
        "status": status,
        "completed_at": now,
        "error_message": error_message,
        "next_step_at": None,
        "lease_until": None,
        "provider_http_status": http_status,
        "output": answer.output if provider_ok else None,
        "output_truncated": bool(answer and provider_ok and answer.output_truncated),
        "provider_error": None if provider_ok or answer is None else answer.error,
        "result_count": result_count,
        "billed_units": billed_units,
        "calculated_cost_micros": costs.calculated_micros,
        "actual_cost_micros": costs.actual_micros,
        "reported_cost_micros": costs.reported_micros,
    }
    if answer and answer.provider_run_id:
        fields["provider_run_id"] = answer.provider_run_id
    # The status filter makes the transition one-way: of two workers finishing one run, only one wins.
    if row_update(Run, run.pk, fields, unless=("status", Run.TERMINAL)):
        ended = _event(
            run, "ended", _ended_detail(status=status, http_status=http_status, result_count=result_count), at=now
        )
        _events_write(events if events is not None else [], ended)
        transaction.on_commit(queue.wake)  # for the settler
        for name, value in fields.items():
            setattr(run, name, value)
    else:
        _events_write(events if events is not None else [])  # what the step did still happened
        run.refresh_from_db()
    return run


def runs_settle(*, limit: int = SETTLE_BATCH) -> int:
    """Settles up to `limit` ended runs, oldest end first, in one transaction; returns how many.

    Settling a run releases its hold, charges what it cost (billing.settlements_record: a wallet UPDATE per
    workspace, not per run) and rolls it up on its key; marking it settled in the same transaction makes that
    happen exactly once, whichever settler gets there, and whatever dies in between. Until then its hold still
    counts in the wallet, in the budgets' `spent + held` and in its key's limit, and it covers the charge (a run
    charges at most its hold): money can never be spent twice while settlement lags. SKIP LOCKED lets several
    settlers share the work on PostgreSQL; on SQLite one writer at a time goes in anyway.
    """
    with transaction.atomic():
        ended = list(
            Run.objects.filter(settled_at__isnull=True, completed_at__isnull=False)
            .order_by("completed_at")
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint__provider")
            .only(*SETTLED_FIELDS)[:limit]
        )
        if not ended:
            return 0
        Run.objects.filter(pk__in=[run.pk for run in ended]).update(settled_at=timezone.now())
        settlements_record(
            [
                Settlement(
                    workspace_id=run.workspace_id,
                    api_key_id=run.api_key_id,
                    run_id=run.pk,
                    provider=run.endpoint.provider.slug,
                    endpoint=run.endpoint.path,
                    status=run.status,
                    ended_at=run.completed_at,
                    held_micros=run.held_micros,
                    costs=Costs(
                        calculated_micros=run.calculated_cost_micros,
                        actual_micros=run.actual_cost_micros,
                        reported_micros=run.reported_cost_micros,
                    ),
                )
                for run in ended
            ]
        )
    for run in ended:
        metrics.run_ended(run)
    return len(ended)


def runs_settle_all() -> int:
    """Settles every ended run there is, batch after batch; returns how many."""
    settled = 0
    while batch := runs_settle():
        settled += batch
    return settled


def _units_billed(run: Run, evidence: int | None) -> int | None:
    """The units an answer bills: what it shows, never more than the run was held for."""
    covered = run_units_covered(run)
    if evidence is None or run.price_type not in PER_UNIT:
        return None
    return evidence if covered is None else min(evidence, covered)


def _event(run: Run, kind: str, detail: str = "", *, at: datetime.datetime | None = None) -> RunEvent:
    """A timeline entry, not yet written. Its detail is a status, a count or a provider's run id: never a
    secret, an input or an output."""
    return RunEvent(run_id=run.pk, at=at or timezone.now(), kind=kind, detail=detail[:300])


def _events_write(events: list[RunEvent], *more: RunEvent) -> None:
    """Writes pending timeline entries in one INSERT, in order (the timeline sorts by id), and empties the list."""
    if events or more:
        instances_insert([*events, *more])
        events.clear()


def _results_text(count: int) -> str:
    return f"{count} result{'' if count == 1 else 's'}"


def _ended_detail(*, status: str, http_status: int | None = None, result_count: int | None = None) -> str:
    parts = [status]
    if http_status is not None:
        parts.append(f"provider HTTP {http_status}")
    if result_count is not None:
        parts.append(_results_text(result_count))
    return ", ".join(parts)


IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
# A claim whose request never created its run (the process died) is given up after this long.
IDEMPOTENCY_ABANDONED = datetime.timedelta(minutes=10)


def idempotency_claim(*, api_key: ApiKey, key: str, body) -> IdempotencyKey | None:
    """Claims `key` for this request (None: go ahead) or returns the earlier request's claim to replay.

    The unique constraint decides between concurrent identical requests: exactly one insert wins.
    """
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApplicationError(400, "Idempotency-Key must be 1 to 255 printable characters.")
    request_hash = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    for _ in range(3):
        try:
            with transaction.atomic():
                _commit_without_flush()  # whatever the request answers, a commit that waits for the disk comes first
                IdempotencyKey.objects.create(api_key=api_key, key=key, request_hash=request_hash)
            return None
        except IntegrityError:
            earlier = (
                IdempotencyKey.objects.select_related("run__endpoint__provider")
                .filter(api_key=api_key, key=key)
                .first()
            )
        if earlier is None:
            continue  # released meanwhile: claim again
        age = timezone.now() - earlier.created_at
        if age > IDEMPOTENCY_TTL or (earlier.run is None and age > IDEMPOTENCY_ABANDONED):
            IdempotencyKey.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
            continue
        if earlier.request_hash != request_hash:
            raise ApplicationError(
                422, "This Idempotency-Key was used with a different request body; use a new key for a new request."
            )
        if earlier.run is None or (not earlier.run.endpoint.provider.is_async and not earlier.run.is_terminal):
            raise ApplicationError(409, "A request with this Idempotency-Key is still in flight; retry shortly.")
        return earlier
    raise ApplicationError(409, "A request with this Idempotency-Key is still in flight; retry shortly.")


def idempotency_release(*, api_key: ApiKey, key: str) -> None:
    """A request that created no run gives its key up, so a corrected retry with the same key can go ahead."""
    IdempotencyKey.objects.filter(api_key=api_key, key=key, run__isnull=True).delete()


@transaction.atomic
def cost_rollup_rebuild() -> int:
    """Rebuilds the whole daily cost rollup from the runs that ended; returns the rows written. For loading runs
    in bulk (bench/cost_summary.py): run_finish keeps the rollup exact run by run, and a run ending while this
    runs could be lost from it."""
    return cost_rollup_build(run_model=Run, rollup_model=KeyDailyCost, statuses=Run.TERMINAL)
