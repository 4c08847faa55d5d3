import datetime
import hashlib
import json
import logging
import math
import time

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task
from jsonschema import Draft202012Validator

from billing.costs import run_costs
from billing.models import ApiKey
from billing.services import key_cost_record
from monid_site.errors import ApplicationError
from providers.adapters import (ProviderAnswer, ProviderTimeout, ProviderUnavailable, adapter_for, credential_setting,
                                is_configured)
from providers.adapters.apify import MAX_WAIT_SECONDS
from providers.models import Endpoint

from .models import IdempotencyKey, Run

logger = logging.getLogger("monid.runs")

COMPOSITE_KEYS = {"body", "queryParams", "pathParams"}
# A worker follows one provider run for at most this long before handing it to a fresh task,
# so a long actor never outlives django-q2's task timeout.
FOLLOW_SECONDS_PER_TASK = 180
# A step's claim on its run: longer than the longest step (follow window, one long-poll and its read margin).
LEASE = datetime.timedelta(seconds=FOLLOW_SECONDS_PER_TASK + 2 * MAX_WAIT_SECONDS + 60)
# A run not terminal, not leased and not seen for this long has lost its step, and the reconciler resumes it.
STALL = datetime.timedelta(minutes=2)
INTERNAL_ERROR = "An internal error in Monid ended this run; it was not charged."


def run_input_flatten(raw: dict) -> dict:
    """The composite form {body, queryParams, pathParams} becomes the flat parameter object providers take."""
    if raw and set(raw) <= COMPOSITE_KEYS:
        for key, part in raw.items():
            if not isinstance(part, dict):
                raise ApplicationError(400, f"input.{key} must be an object.",
                                       [{"path": f"input.{key}", "message": "must be an object"}])
        return {**raw.get("pathParams", {}), **raw.get("queryParams", {}), **raw.get("body", {})}
    return raw


def run_input_validate(*, endpoint: Endpoint, params: dict) -> None:
    """Checks the input against the endpoint's JSON Schema and names every failing path."""
    validator = Draft202012Validator(endpoint.input_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(params), key=lambda e: [str(part) for part in e.path])
    if errors:
        details = [{"path": ".".join(["input", *map(str, e.path)]), "message": _schema_message(e)} for e in errors]
        summary = "; ".join(f"{d['path']}: {d['message']}" for d in details[:3])
        raise ApplicationError(400, f"input does not match the schema of {endpoint.provider.slug} "
                                    f"{endpoint.path}: {summary}", details)


def _schema_message(error) -> str:
    # "is not valid under any of the given schemas" helps nobody; the schema's own description says what is wanted.
    if error.validator in ("anyOf", "oneOf") and error.schema.get("description"):
        return f"not enough to go on. {error.schema['description']}"
    return error.message


def run_create(*, api_key: ApiKey, endpoint: Endpoint, raw_input: dict) -> Run:
    """Validates and stores a new run; an async run is handed to a worker once the row is committed."""
    run_input_validate(endpoint=endpoint, params=run_input_flatten(raw_input))
    provider = endpoint.provider
    if not is_configured(provider.slug, sandbox=api_key.is_test):
        raise ApplicationError(503, f"Provider {provider.slug!r} is not configured on this server "
                                    f"({credential_setting(provider.slug)} is unset). Use a monid_test_ key, "
                                    "or ask the operator to configure it.")
    with transaction.atomic():
        run = Run.objects.create(
            workspace_id=api_key.workspace_id, api_key=api_key, endpoint=endpoint, is_test=api_key.is_test,
            status=Run.Status.RUNNING if provider.is_async else Run.Status.READY, input=raw_input,
            price_type=endpoint.price_type, price_micros=endpoint.price_micros,
            flat_fee_micros=endpoint.flat_fee_micros,
        )
        if provider.is_async:
            transaction.on_commit(lambda: _enqueue_step(run.id))
    return run


def run_execute_sync(*, run: Run) -> Run:
    """Calls a synchronous provider in the request; whatever the provider answers completes the run."""
    Run.objects.filter(pk=run.pk, status=Run.Status.READY).update(status=Run.Status.RUNNING,
                                                                 started_at=timezone.now())
    endpoint = run.endpoint
    adapter = adapter_for(endpoint.provider.slug, sandbox=run.is_test)
    try:
        answer = adapter.call(path=endpoint.path, params=run_input_flatten(run.input),
                              credit_cost_micros=endpoint.credit_cost_micros, timeout_seconds=endpoint.deadline_seconds)
    except ProviderTimeout:
        return run_finish(run=run, status=Run.Status.TIMED_OUT, error_message=_deadline_message(endpoint))
    except ProviderUnavailable as exc:
        return run_finish(run=run, status=Run.Status.FAILED, error_message=str(exc))
    except Exception:
        logger.exception("Run %s failed unexpectedly", run.id)
        return run_finish(run=run, status=Run.Status.FAILED, error_message=INTERNAL_ERROR)
    return run_finish(run=run, status=Run.Status.COMPLETED, answer=answer)


def _deadline_message(endpoint: Endpoint) -> str:
    return f"The run passed its {endpoint.deadline_seconds} s deadline; it was stopped and not charged."


def run_advance(*, run_id: str) -> None:
    """One worker step of an async run: start it at the provider if needed, follow it, collect the result.

    Every decision is taken from the row, so a step that runs twice, or after a crash, picks up where the
    last one left off. A lease on the row keeps two workers from taking the same step at once; a step holds
    a worker for at most FOLLOW_SECONDS_PER_TASK (plus one status check), then hands the run to a new task.
    """
    run = Run.objects.select_related("endpoint__provider").get(pk=run_id)
    if run.is_terminal or not _lease_take(run):
        return
    try:
        more = _advance_step(run)
    finally:
        Run.objects.filter(pk=run.pk).update(lease_until=None)
    if more:
        _enqueue_step(run.id)


def _enqueue_step(run_id: str) -> None:
    async_task("runs.tasks.advance_run", run_id, task_name=f"run {run_id}")


def _lease_take(run: Run) -> bool:
    """Claims the run's next step with one conditional update, which works alike on SQLite and PostgreSQL."""
    now = timezone.now()
    return bool(Run.objects.filter(pk=run.pk).exclude(status__in=Run.TERMINAL)
                .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
                .update(lease_until=now + LEASE, heartbeat_at=now))


def _lease_renew(run: Run) -> None:
    now = timezone.now()
    Run.objects.filter(pk=run.pk).update(lease_until=now + LEASE, heartbeat_at=now)


def _advance_step(run: Run) -> bool:
    """The body of a step; True when the run needs another step."""
    endpoint = run.endpoint
    adapter = adapter_for(endpoint.provider.slug, sandbox=run.is_test)
    deadline = run.created_at + datetime.timedelta(seconds=endpoint.deadline_seconds)
    try:
        if run.status == Run.Status.STOPPING:
            run_stop_at_provider(run=run, adapter=adapter)
            return False
        provider_run = None
        if not run.provider_run_id:
            if timezone.now() >= deadline:
                run_finish(run=run, status=Run.Status.TIMED_OUT, error_message=_deadline_message(endpoint))
                return False
            # The one window where a crash can start a provider run twice: after Apify accepted the start and
            # before its run id is stored below, a successor sees no id and starts again. It is as wide as one
            # HTTP reply plus one UPDATE; Apify offers no idempotent start to close it.
            started = adapter.start(path=endpoint.path, actor_input=run_input_flatten(run.input))
            if isinstance(started, ProviderAnswer):
                run_finish(run=run, status=Run.Status.COMPLETED, answer=started)
                return False
            Run.objects.filter(pk=run.pk, provider_run_id="").update(provider_run_id=started.id,
                                                                     started_at=timezone.now())
            run.refresh_from_db(fields=["status", "provider_run_id"])
            if run.status != Run.Status.RUNNING:  # stopped while the provider was starting it
                run_stop_at_provider(run=run, adapter=adapter)
                return False
            provider_run = started
        follow_until = time.monotonic() + FOLLOW_SECONDS_PER_TASK
        while provider_run is None or not provider_run.is_terminal:
            remaining = (deadline - timezone.now()).total_seconds()
            if remaining <= 0:
                aborted = adapter.abort(run_id=run.provider_run_id)
                run_finish(run=run, status=Run.Status.TIMED_OUT, error_message=_deadline_message(endpoint),
                           actual_cost_micros=aborted.usage_total_micros)
                return False
            if provider_run is not None and time.monotonic() >= follow_until:  # every step checks once at least
                return True
            _lease_renew(run)
            provider_run = adapter.wait(run_id=run.provider_run_id, wait_seconds=min(MAX_WAIT_SECONDS,
                                                                                     math.ceil(remaining)))
        if provider_run.status == "ABORTED":
            run_finish(run=run, status=Run.Status.STOPPED, actual_cost_micros=provider_run.usage_total_micros)
        else:
            run_finish(run=run, status=Run.Status.COMPLETED, answer=adapter.answer(provider_run))
    except ProviderUnavailable as exc:
        run_finish(run=run, status=Run.Status.FAILED, error_message=str(exc))
    except Exception:
        # A bug must not leave the run RUNNING forever: the client is told it failed, the log keeps the trace.
        logger.exception("Run %s failed unexpectedly", run.id)
        run_finish(run=run, status=Run.Status.FAILED, error_message=INTERNAL_ERROR)
    return False


def runs_reconcile() -> dict:
    """Resumes runs whose step stalled (a lost task, a killed worker) from the state stored on their row.

    An async run with no live lease and no sign of life for STALL is handed to a new step, which resumes from
    the provider's run id; a sync run whose request died with it can only be failed, uncharged.
    """
    now = timezone.now()
    stalled = (Run.objects.exclude(status__in=Run.TERMINAL)
               .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
               .alias(last_seen=Coalesce("heartbeat_at", "created_at"))
               .filter(last_seen__lt=now - STALL))
    resumable, failed = [], 0
    for run in stalled.select_related("endpoint__provider"):
        if run.endpoint.provider.is_async:
            resumable.append(run.id)
        elif now - run.created_at > datetime.timedelta(seconds=run.endpoint.deadline_seconds) + STALL:
            run_finish(run=run, status=Run.Status.FAILED,
                       error_message="The request running this run was lost; it was not charged.")
            failed += 1
    # Marked seen in one statement, so the next sweep leaves them to the steps queued here.
    Run.objects.filter(pk__in=resumable).update(heartbeat_at=now)
    for run_id in resumable:
        _enqueue_step(run_id)
    return {"resumed": len(resumable), "failed": failed}


@transaction.atomic
def run_stop(*, run: Run) -> Run:
    """Asks for an async run to be stopped; a worker aborts it at the provider and ends it STOPPED."""
    if not run.endpoint.provider.is_async:
        raise ApplicationError(409, "A synchronous run ends within its own request; there is nothing to stop.")
    if not Run.objects.filter(pk=run.pk, status__in=[Run.Status.READY, Run.Status.RUNNING]).update(
            status=Run.Status.STOPPING):
        run.refresh_from_db(fields=["status"])
        raise ApplicationError(409, f"Run {run.id} is {run.status}; only a READY or RUNNING run can be stopped.")
    transaction.on_commit(lambda: async_task("runs.tasks.stop_run", run.id, task_name=f"stop {run.id}"))
    run.refresh_from_db(fields=["status"])
    return run


def run_stop_at_provider(*, run: Run, adapter=None) -> None:
    """Aborts the provider's run, if one was started, and ends ours STOPPED with whatever the provider billed."""
    run.refresh_from_db(fields=["status", "provider_run_id"])
    actual = 0
    if run.provider_run_id:
        adapter = adapter or adapter_for(run.endpoint.provider.slug, sandbox=run.is_test)
        try:
            actual = adapter.abort(run_id=run.provider_run_id).usage_total_micros
        except ProviderUnavailable as exc:
            # Our run still ends: the customer asked to stop and is not charged; the operator sees the log.
            logger.warning("Run %s: could not abort provider run %s: %s", run.id, run.provider_run_id, exc)
    run_finish(run=run, status=Run.Status.STOPPED, actual_cost_micros=actual)


@transaction.atomic
def run_finish(*, run: Run, status: str, answer: ProviderAnswer | None = None, error_message: str = "",
               actual_cost_micros: int = 0) -> Run:
    """Ends a run once and for all: records the answer and its three costs, then rolls them up on the key.

    `actual_cost_micros` is what the provider billed when there is no answer (an aborted run still costs us).
    """
    now = timezone.now()
    http_status = answer.http_status if answer else None
    provider_ok = http_status is not None and 200 <= http_status < 300
    result_count = answer.result_count if answer and provider_ok else None
    costs = run_costs(price_type=run.price_type, price_micros=run.price_micros, flat_fee_micros=run.flat_fee_micros,
                      result_count=result_count, provider_http_status=http_status,
                      completed=status == Run.Status.COMPLETED, actual_micros=answer.actual_cost_micros if answer else actual_cost_micros,
                      is_test=run.is_test)
    fields = {
        "status": status, "completed_at": now, "error_message": error_message,
        "provider_http_status": http_status, "output": answer.output if provider_ok else None,
        "provider_error": None if provider_ok or answer is None else answer.error, "result_count": result_count,
        "calculated_cost_micros": costs.calculated_micros, "actual_cost_micros": costs.actual_micros,
        "reported_cost_micros": costs.reported_micros,
    }
    if answer and answer.provider_run_id:
        fields["provider_run_id"] = answer.provider_run_id
    # The status filter makes the transition one-way: of two workers finishing one run, only one wins.
    if Run.objects.filter(pk=run.pk).exclude(status__in=Run.TERMINAL).update(**fields):
        key_cost_record(api_key_id=run.api_key_id, day=now.date(), costs=costs)
    run.refresh_from_db()
    return run


IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
# A claim whose request never created its run (the process died) is given up after this long.
IDEMPOTENCY_ABANDONED = datetime.timedelta(minutes=10)


def idempotency_claim(*, workspace, key: str, body) -> IdempotencyKey | None:
    """Claims `key` for this request (None: go ahead) or returns the earlier request's claim to replay.

    The unique constraint decides between concurrent identical requests: exactly one insert wins.
    """
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise ApplicationError(400, "Idempotency-Key must be 1 to 255 printable characters.")
    request_hash = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    for _ in range(3):
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(workspace=workspace, key=key, request_hash=request_hash)
            return None
        except IntegrityError:
            earlier = (IdempotencyKey.objects.select_related("run__endpoint__provider")
                       .filter(workspace=workspace, key=key).first())
        if earlier is None:
            continue  # released meanwhile: claim again
        age = timezone.now() - earlier.created_at
        if age > IDEMPOTENCY_TTL or (earlier.run is None and age > IDEMPOTENCY_ABANDONED):
            IdempotencyKey.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
            continue
        if earlier.request_hash != request_hash:
            raise ApplicationError(422, "This Idempotency-Key was used with a different request body; "
                                        "use a new key for a new request.")
        if earlier.run is None or (not earlier.run.endpoint.provider.is_async and not earlier.run.is_terminal):
            raise ApplicationError(409, "A request with this Idempotency-Key is still in flight; retry shortly.")
        return earlier
    raise ApplicationError(409, "A request with this Idempotency-Key is still in flight; retry shortly.")


def idempotency_attach(*, workspace, key: str, run: Run) -> None:
    IdempotencyKey.objects.filter(workspace=workspace, key=key).update(run=run)


def idempotency_release(*, workspace, key: str) -> None:
    """A request that created no run gives its key up, so a corrected retry with the same key can go ahead."""
    IdempotencyKey.objects.filter(workspace=workspace, key=key, run__isnull=True).delete()
