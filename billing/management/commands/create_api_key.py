import datetime
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create
from billing.costs import dollars_to_micros
from billing.models import ApiKey
from billing.queries import workspace_first_member
from monid_site.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key (and its workspace if needed). The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug; created if it does not exist")
        parser.add_argument("--label", required=True, help="A name for the key, unique in its workspace")
        parser.add_argument("--mode", choices=["live", "test"], default="live")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiKey.SCOPES,
            dest="scopes",
            help="runs, catalog or manage (live keys only); repeat for several. Default: runs and catalog",
        )
        parser.add_argument("--expires-at", type=_moment, help="ISO 8601, e.g. 2027-01-31T00:00:00Z; default: never")
        parser.add_argument("--spend-limit-usd", type=Decimal, help="The most its live runs may be charged a period")
        parser.add_argument(
            "--period", choices=ApiKey.SPEND_PERIODS, default="MONTH", help="The spend limit's period (default MONTH)"
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="The member it is made for, whom GET /v1/auth/whoami names; default: the workspace's first member",
        )

    def handle(self, *args, workspace, label, mode, scopes, expires_at, spend_limit_usd, period, user, **options):
        limit = None if spend_limit_usd is None else dollars_to_micros(spend_limit_usd)
        try:
            ws = workspace_get_or_create(slug=workspace)
            api_key, key = api_key_create(
                workspace=ws,
                label=label,
                mode=mode,
                scopes=scopes or ApiKey.DEFAULT_SCOPES,
                expires_at=expires_at,
                spend_limit_micros=limit,
                spend_period=period if limit is not None else "",
                created_by=_member(ws, user),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Created {mode} key {api_key.label!r} ({', '.join(api_key.scope_list)}) in workspace "
            f"{ws.slug!r}. It is shown only now:"
        )
        self.stdout.write(key)


def _moment(text: str) -> datetime.datetime:
    """An ISO 8601 moment; one without a zone is UTC."""
    moment = datetime.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _member(workspace, username: str | None):
    """The named member, or without a name the first one (None in a workspace without members)."""
    if username is None:
        return workspace_first_member(workspace=workspace)
    member = workspace.members.filter(username=username).first()
    if member is None:
        raise CommandError(f"{username!r} is not a member of the workspace {workspace.slug!r}.")
    return member
