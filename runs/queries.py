import datetime

from ulid import ULID

from billing.models import ApiKey, Workspace
from monid_site.errors import ApplicationError

from .models import Run


def run_get_for_key(*, api_key: ApiKey, run_id: str) -> Run:
    """A run of the key's workspace and mode; someone else's run, or one of the other mode, is as unknown as a
    run that never existed."""
    run = (
        Run.objects.select_related("endpoint__provider")
        .filter(workspace_id=api_key.workspace_id, is_test=api_key.is_test, pk=run_id)
        .first()
    )
    if run is None:
        raise ApplicationError(
            404, f"No run {run_id!r} among this workspace's {api_key.mode} runs (a {api_key.mode} key sees only those)."
        )
    return run


def runs_with_details():
    """Runs with what the pages show joined in (workspace, key, endpoint and provider), so a page is one query."""
    return Run.objects.select_related("workspace", "api_key", "endpoint__provider")


HTTP_CLASS_RANGES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}
EPOCH = datetime.date(1970, 1, 1)


def run_id_at(moment: datetime.datetime) -> str:
    """The smallest run id made at `moment` (to the millisecond) or later: run ids are ULIDs, whose first ten
    characters are the time they were made, so the runs made from then on are those whose id sorts at or after it."""
    milliseconds = max(0, int(moment.timestamp() * 1000))
    return str(ULID.from_bytes(milliseconds.to_bytes(6, "big") + bytes(10)))


def run_id_floor(day: datetime.date) -> str:
    """The smallest run id of a UTC day."""
    return run_id_at(datetime.datetime.combine(max(day, EPOCH), datetime.time(), datetime.UTC))


def runs_filtered(
    runs,
    *,
    workspace: Workspace | None = None,
    api_key_id: int | None = None,
    endpoint_ids: list[int] | None = None,
    status: str = "",
    http: str = "",
    is_test: bool | None = None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
):
    """The runs matching the runs list's filters (each optional); the key and endpoints come as ids, already found.

    The UTC days [start, end] are a range of run ids, not of created_at: the primary key's index serves it, and
    each filter's own index keeps serving "newest first" within it.
    """
    if workspace is not None:
        runs = runs.filter(workspace=workspace)
    if api_key_id is not None:
        runs = runs.filter(api_key_id=api_key_id)
    if endpoint_ids is not None:
        runs = runs.filter(endpoint_id__in=endpoint_ids)
    if status:
        runs = runs.filter(status=status)
    if http == "none":
        runs = runs.filter(provider_http_status__isnull=True)
    elif http:
        low, high = HTTP_CLASS_RANGES[http]
        runs = runs.filter(provider_http_status__gte=low, provider_http_status__lt=high)
    if is_test is not None:
        runs = runs.filter(is_test=is_test)
    if start:
        runs = runs.filter(pk__gte=run_id_floor(start))
    if end and end < datetime.date.max:
        runs = runs.filter(pk__lt=run_id_floor(end + datetime.timedelta(days=1)))
    return runs
