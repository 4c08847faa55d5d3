"""django-q2 entry points; each may run twice after a crash, so each only calls an idempotent service."""

from .models import Run
from .services import run_stop_at_provider, runs_advance, runs_dispatch, runs_reconcile


def advance_runs(*run_ids: str) -> None:
    runs_advance(run_ids=run_ids)


def stop_run(run_id: str) -> None:
    run = Run.objects.select_related("endpoint__provider").get(pk=run_id)
    if not run.is_terminal:
        run_stop_at_provider(run=run)


def reconcile_runs() -> dict:
    """Run every minute by the django-q2 schedule that migration runs.0004 creates. It dispatches due runs too,
    so runs still progress (a minute at a time) where no `dispatch_runs` process was started."""
    return {**runs_reconcile(), "dispatched": runs_dispatch()}
