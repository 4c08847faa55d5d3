from django.core.management.base import BaseCommand, CommandError

from billing.models import ApiKey
from billing.services import api_key_create, workspace_get_or_create
from monid_site.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key (and its workspace if needed). The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug; created if it does not exist")
        parser.add_argument("--label", required=True, help="A name for the key, unique in its workspace")
        parser.add_argument("--mode", choices=["live", "test"], default="live")
        parser.add_argument("--scope", action="append", choices=ApiKey.SCOPES, dest="scopes",
                            help="runs, catalog or manage (live keys only); repeat for several. Default: runs and "
                                 "catalog")

    def handle(self, *args, workspace, label, mode, scopes, **options):
        try:
            ws = workspace_get_or_create(slug=workspace)
            api_key, key = api_key_create(workspace=ws, label=label, mode=mode,
                                          scopes=scopes or ApiKey.DEFAULT_SCOPES)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stderr.write(f"Created {mode} key {api_key.label!r} ({', '.join(api_key.scope_list)}) in workspace "
                          f"{ws.slug!r}. It is shown only now:")
        self.stdout.write(key)
