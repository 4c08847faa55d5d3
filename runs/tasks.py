"""django-q2 entry points; each may run twice after a crash, so each only calls an idempotent service."""

import dataclasses

from django.conf import settings

from monid_site import logs, metrics

from .health import endpoint_health_sample
from .models import Run
from .retention import run_outputs_prune
from .services import run_stop_at_provider, runs_advance, runs_dispatch, runs_reconcile, runs_settle_all


def advance_runs(*run_ids: str) -> None:
    runs_advance(run_ids=run_ids)


def stop_run(run_id: str) -> None:
    run = Run.objects.select_related("endpoint__provider").get(pk=run_id)
    if not run.is_terminal:
        with logs.run_context(run):
            run_stop_at_provider(run=run)


def reconcile_runs() -> dict:
    """Run every minute by the django-q2 schedule that migration runs.0004 creates. It dispatches due runs and
    settles ended ones too, so runs still progress (a minute at a time) where no `dispatch_runs` process was
    started."""
    reconciled = runs_reconcile()
    metrics.runs_reconciled(reconciled)
    return {**reconciled, "dispatched": runs_dispatch(), "settled": runs_settle_all()}


def prune_outputs() -> dict:
    """Run daily by the django-q2 schedule that migration runs.0013 creates; idempotent, and a prune cut short
    (the task's timeout) is finished by the next."""
    return dataclasses.asdict(run_outputs_prune(days=settings.MONID_OUTPUT_RETENTION_DAYS))


def sample_endpoint_health() -> int:
    """Run every minute by the django-q2 schedule that migration runs.0021 asserts (providers.0007 made it first);
    returns how many endpoints it sampled."""
    return len(endpoint_health_sample())
