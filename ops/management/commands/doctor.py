"""`manage.py doctor`: checks a live installation from one of its machines and says, one line per check, what is
wrong and what to do about it. Exits 1 when anything is."""

import datetime
import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Min
from django.utils import timezone
from django_q.models import Schedule

from ops.queries import RECONCILE_FUNC, RECONCILE_GRACE, broker_state, clusters_reporting, error_first_line
from providers.credentials import CredentialUnreadable, credential_of
from providers.models import Provider
from runs.models import Run
from runs.queue import broker

PRUNE_FUNC = "runs.tasks.prune_outputs"  # the schedule migration runs.0013 creates
HEALTH_FUNC = "runs.tasks.sample_endpoint_health"  # the schedule migration runs.0021 creates (providers.0007 did first)
# The dispatcher hands out a due step within a fiftieth of a second; without one, the reconciler's schedule does,
# once a minute. Steps due for longer than this mean no dispatcher is running, or it keeps failing.
DISPATCH_GRACE = datetime.timedelta(seconds=30)
MAX_CLOCK_SKEW_SECONDS = 2.0  # leases, deadlines and schedules compare times taken on different machines


class Problem(Exception):
    """What is wrong and what to do, in plain words."""


class Skipped(Exception):
    """Why a check does not apply to this installation."""


class Command(BaseCommand):
    help = (
        "Checks this installation: database and migrations, broker, workers, schedules, dispatcher, provider "
        "credentials, clock skew and disk space. One line per check; exits 1 if any found a problem."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-free-gb",
            type=float,
            default=1.0,
            help="free disk space below this, where the SQLite database lives, is a problem (default %(default)s)",
        )

    def handle(self, *args, min_free_gb, **options):
        checks = {
            "database": check_database,
            "broker": check_broker,
            "workers": check_workers,
            "schedules": check_schedules,
            "dispatcher": check_dispatcher,
            "providers": check_providers,
            "clock": check_clock,
            "disk": lambda: check_disk(min_free_gb=min_free_gb),
        }
        problems = 0
        for name, check in checks.items():
            try:
                line = f"ok: {check()}"
            except Skipped as skipped:
                line = f"skipped: {skipped}"
            except Problem as problem:
                problems += 1
                line = f"PROBLEM: {problem}"
            except Exception as exc:  # the database or the broker being down breaks the checks that read it
                problems += 1
                line = f"PROBLEM: could not check ({type(exc).__name__}: {error_first_line(str(exc))})"
            self.stdout.write(f"{name:<11}{line}")
        if problems:
            raise CommandError(f"{problems} problem{'s' if problems > 1 else ''} found.")


def check_database() -> str:
    try:
        executor = MigrationExecutor(connection)  # reads which migrations are applied
    except DatabaseError as exc:
        raise Problem(
            f"the database did not answer ({type(exc).__name__}: {error_first_line(str(exc))}): is it up, "
            f"and DATABASE_URL right?"
        ) from exc
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        first = pending[0][0]
        raise Problem(
            f"{len(pending)} migration(s) not applied, the first {first.app_label}.{first.name}: run "
            f"`python manage.py migrate` (the Procfile's release step)."
        )
    return f"{connection.display_name} answers; every migration is applied"


def check_broker() -> str:
    state = broker_state()
    if "error" in state:
        hint = "is Redis up, and REDIS_URL right?" if settings.REDIS_URL else "it is the database (REDIS_URL unset)."
        raise Problem(f"the django-q2 broker did not answer ({state['error']}): {hint}")
    return f"{state['name']}, queue {state['queue']!r}: {state['queued']} task(s) waiting"


def check_workers() -> str:
    clusters = clusters_reporting(now=timezone.now())
    if clusters is None:
        raise Problem("the workers' reports could not be read from the broker's cache.")
    if not clusters:
        raise Problem(
            "no worker has reported in the last few seconds: start `python manage.py qcluster` (the "
            "Procfile's worker); without one, async runs never advance."
        )
    return f"{len(clusters)} cluster(s) reporting, {sum(cluster['workers'] for cluster in clusters)} worker process(es)"


def check_schedules() -> str:
    now = timezone.now()
    wanted = {RECONCILE_FUNC: "the reconciler (every minute)", HEALTH_FUNC: "provider health (every minute)"}
    if settings.MONID_OUTPUT_RETENTION_DAYS:
        wanted[PRUNE_FUNC] = "output pruning (daily)"
    next_runs = dict(Schedule.objects.filter(func__in=wanted).values_list("func", "next_run"))
    missing = [f"{what}, function {func}" for func, what in wanted.items() if func not in next_runs]
    if missing:
        raise Problem(f"no schedule for {'; '.join(missing)}: add it in the admin (Django Q, Scheduled tasks).")
    late = [
        f"{wanted[func]} by {(now - next_run).total_seconds():.0f} s"
        for func, next_run in next_runs.items()
        if next_run < now - RECONCILE_GRACE
    ]
    if late:
        raise Problem(
            f"overdue: {'; '.join(late)}. No cluster is taking schedules: is `python manage.py qcluster` running?"
        )
    return f"{', '.join(wanted.values())}: present and on time"


def check_dispatcher() -> str:
    now = timezone.now()
    late = Run.objects.filter(next_step_at__lt=now - DISPATCH_GRACE).aggregate(
        count=Count("pk"), oldest=Min("next_step_at")
    )
    if late["count"]:
        raise Problem(
            f"{late['count']} run(s) have had a step due for over {DISPATCH_GRACE.seconds} s (the oldest "
            f"{(now - late['oldest']).total_seconds():.0f} s): start `python manage.py qcluster`, which "
            f"dispatches them (or `python manage.py dispatch_runs` where MONID_DISPATCH_IN_WORKER=0), or "
            f"look at its log; without a dispatcher, async runs advance once a minute."
        )
    return f"no run has waited over {DISPATCH_GRACE.seconds} s for its next step"


def check_providers() -> str:
    """Which switched-on providers have their credential (set in the dashboard or the environment). Those without
    one still serve test mode from their fixtures, so only a deployment where none has one, and no live run can go
    anywhere, has a problem; and so has a dashboard credential that cannot be decrypted."""
    enabled = list(Provider.objects.filter(enabled=True))
    if not enabled:
        raise Skipped("no provider is switched on: `python manage.py seed_catalog` loads the catalog.")
    configured, missing, unreadable = [], [], []
    for provider in enabled:
        try:
            (configured if credential_of(provider) else missing).append(f"{provider.name} ({provider.credential_name})")
        except CredentialUnreadable as exc:
            unreadable.append(str(exc))
    if unreadable:
        raise Problem(" ".join(unreadable))
    if not configured:
        raise Problem(
            f"no switched-on provider has its credential, so every live run is refused with 503: set "
            f"the variable of one at least, or its credential on its page in the catalog admin "
            f"({', '.join(missing)})."
        )
    return f"credentials set: {', '.join(configured)}" + (
        f"; test mode only until their credential is set: {', '.join(missing)}" if missing else ""
    )


def check_clock() -> str:
    """This machine's clock against the database server's (PostgreSQL) and Redis's, each read once."""
    offsets = {}
    if connection.vendor == "postgresql":
        offsets["the database"] = _offset(_database_time)
    if settings.REDIS_URL:
        offsets["Redis"] = _offset(_redis_time)
    if not offsets:
        raise Skipped("the database is a local SQLite file, on this machine's clock, and there is no Redis.")
    skewed = [
        f"{abs(seconds):.1f} s {'behind' if seconds > 0 else 'ahead of'} {server}'s"
        for server, seconds in offsets.items()
        if abs(seconds) > MAX_CLOCK_SKEW_SECONDS
    ]
    if skewed:
        raise Problem(
            f"this machine's clock is {' and '.join(skewed)}: leases, deadlines and schedules compare "
            f"times taken on different machines. Keep every clock in sync (NTP: chrony, "
            f"systemd-timesyncd)."
        )
    return ", ".join(f"{seconds:+.3f} s from {server}'s" for server, seconds in offsets.items())


def _offset(read_time) -> float:
    """How far a server's clock is ahead of ours, in seconds, taking its reading at the middle of the round trip."""
    before = timezone.now().timestamp()
    theirs = read_time()
    return theirs - (before + timezone.now().timestamp()) / 2


def _database_time() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0].timestamp()


def _redis_time() -> float:
    seconds, microseconds = broker().connection.time()
    return seconds + microseconds / 1_000_000


def check_disk(*, min_free_gb: float) -> str:
    if connection.vendor != "sqlite":
        raise Skipped(f"{connection.display_name} keeps its files on its own server: watch its disk there.")
    folder = Path(connection.settings_dict["NAME"]).parent
    free_gb = shutil.disk_usage(folder).free / 1e9
    if free_gb < min_free_gb:
        raise Problem(
            f"only {free_gb:.1f} GB free where the SQLite database lives ({folder}): free some space, or "
            f"keep run outputs for fewer days (MONID_OUTPUT_RETENTION_DAYS, then `python manage.py "
            f"prune_outputs`)."
        )
    return f"{free_gb:.1f} GB free where the SQLite database lives ({folder})"
