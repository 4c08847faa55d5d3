from django.core.management.base import BaseCommand, CommandError

from billing.services import api_key_create, workspace_get_or_create
from monid_site.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an API key (and its workspace if needed). The key is printed alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug; created if it does not exist")
        parser.add_argument("--label", required=True, help="A name for the key, unique in its workspace")
        parser.add_argument("--mode", choices=["live", "test"], default="live")

    def handle(self, *args, workspace, label, mode, **options):
        try:
            ws = workspace_get_or_create(slug=workspace)
            api_key, key = api_key_create(workspace=ws, label=label, mode=mode)
        except ApplicationError as exc:
            raise CommandError(exc.message)
        self.stderr.write(f"Created {mode} key {api_key.label!r} in workspace {ws.slug!r}. It is shown only now:")
        self.stdout.write(key)
