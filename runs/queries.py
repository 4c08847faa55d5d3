from billing.models import Workspace
from monid_site.errors import ApplicationError

from .models import Run


def run_get_for_workspace(*, workspace: Workspace, run_id: str) -> Run:
    """A run of this workspace; someone else's run is as unknown as a run that never existed."""
    run = Run.objects.select_related("endpoint__provider").filter(workspace=workspace, pk=run_id).first()
    if run is None:
        raise ApplicationError(404, f"No run {run_id!r} in this workspace.")
    return run


def runs_with_details():
    """Runs with what the pages show joined in (workspace, key, endpoint and provider), so a page is one query."""
    return Run.objects.select_related("workspace", "api_key", "endpoint__provider")


def runs_page(runs, *, before: str | None, limit: int):
    """One newest-first page of runs older than the run id `before`, and the `before` of the next page (None at the end).

    A keyset on the ULID, so a page stays correct while new runs arrive and costs the same at any depth.
    """
    if before:
        runs = runs.filter(pk__lt=before)
    page = list(runs.order_by("-id")[: limit + 1])
    return page[:limit], (page[limit - 1].id if len(page) > limit else None)
