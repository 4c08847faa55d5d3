"""django-q2 entry points; each may run twice after a crash, so each only calls an idempotent service."""

from .services import run_advance


def advance_run(run_id: str) -> None:
    run_advance(run_id=run_id)
