from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runs.retention import run_outputs_prune


class Command(BaseCommand):
    help = (
        "Drops the outputs of terminal runs older than the retention (MONID_OUTPUT_RETENTION_DAYS), as the "
        "daily schedule does, and says what it freed. The runs, their costs and the ledger stay."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.MONID_OUTPUT_RETENTION_DAYS,
            help="keep the outputs of runs made in the last DAYS UTC days (default: "
            "MONID_OUTPUT_RETENTION_DAYS, now %(default)s; 0 keeps every output)",
        )
        parser.add_argument("--dry-run", action="store_true", help="only count what would be freed")

    def handle(self, *args, days, dry_run, **options):
        if days < 0:
            raise CommandError("--days must be 0 (keep every output) or more.")
        pruned = run_outputs_prune(days=days, dry_run=dry_run)
        if pruned.made_before is None:
            self.stdout.write("Retention is off (0 days): every output is kept.")
            return
        self.stdout.write(
            f"{'Would free' if dry_run else 'Freed'} the outputs of {pruned.runs:,} run"
            f"{'' if pruned.runs == 1 else 's'} made before {pruned.made_before} (UTC): "
            f"{pruned.output_bytes:,} bytes of JSON."
        )
