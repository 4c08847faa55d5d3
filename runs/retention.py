"""Output retention: a terminal run's output is dropped once the run is MONID_OUTPUT_RETENTION_DAYS old. Only the
output goes: the run, its input, the provider's status and error, its costs, the wallet's ledger and the daily cost
rollup stay as they were, so the money adds up the same before and after."""

import dataclasses
import datetime

from django.db.models import TextField
from django.db.models.functions import Cast, Length
from django.utils import timezone

from .models import Run
from .queries import run_id_floor

BATCH = 500  # runs per UPDATE: each batch is one short statement, so pruning never holds a lock for long


@dataclasses.dataclass
class Pruned:
    made_before: datetime.date | None  # runs made on this UTC day or later keep their output; None: retention is off
    runs: int = 0
    output_bytes: int = 0  # their size as JSON text


def run_outputs_prune(*, days: int, dry_run: bool = False) -> Pruned:
    """Drops the outputs of the terminal runs made before the UTC day `days` days ago; none when days is 0."""
    if not days:
        return Pruned(made_before=None)
    now = timezone.now()
    pruned = Pruned(made_before=now.date() - datetime.timedelta(days=days))
    # Run ids are ULIDs, so "made before that day" is a range of the primary key; runs_run_output_kept holds only
    # the runs that still have an output, so each batch reads what it prunes, however many runs went before.
    # "Not in flight" rather than "terminal": given `status IN (…)`, SQLite reads every terminal run by its index.
    candidates = (
        Run.objects.filter(pk__lt=run_id_floor(pruned.made_before), output__isnull=False)
        .exclude(status__in=Run.IN_FLIGHT)
        .order_by("pk")
        .annotate(size=Length(Cast("output", TextField())))
    )
    after = ""
    while batch := list(candidates.filter(pk__gt=after).values_list("pk", "size")[:BATCH]):
        after = batch[-1][0]
        if not dry_run:
            ids = [pk for pk, _ in batch]
            done = Run.objects.filter(pk__in=ids, output__isnull=False).update(output=None, output_expired_at=now)
            if done < len(ids):  # another pruner (the schedule and the command at once) took some first
                ours = set(Run.objects.filter(pk__in=ids, output_expired_at=now).values_list("pk", flat=True))
                batch = [(pk, size) for pk, size in batch if pk in ours]
        pruned.runs += len(batch)
        pruned.output_bytes += sum(size for _, size in batch)
    return pruned
