import base64
import binascii

from ulid import ULID

from billing.models import Workspace
from monid_site.errors import ApplicationError

from .models import Run


def run_get_for_workspace(*, workspace: Workspace, run_id: str) -> Run:
    """A run of this workspace; someone else's run is as unknown as a run that never existed."""
    run = Run.objects.select_related("endpoint__provider").filter(workspace=workspace, pk=run_id).first()
    if run is None:
        raise ApplicationError(404, f"No run {run_id!r} in this workspace.")
    return run


def encode_cursor(run_id: str) -> str:
    return base64.urlsafe_b64encode(run_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        run_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ULID.from_str(run_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApplicationError(400, "The cursor is not one this API gave out; start again without a cursor.")
    return run_id


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
