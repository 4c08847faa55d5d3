from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.accounts import workspace_get_or_create
from billing.api_keys import api_key_create, api_key_revoke, api_key_update
from billing.keys import hash_key
from billing.models import ApiKey

DEMO_PASSWORD = "monid-demo"
KEY_FILE = settings.VAR_DIR / "demo_key"


class Command(BaseCommand):
    help = "Make sure a demo operator, a demo customer workspace and its monid_test_ key exist, and print them."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup creates accounts with a known password; it runs only with DJANGO_DEBUG=1.")
        users = get_user_model().objects
        if not users.filter(username="operator").exists():
            users.create_superuser("operator", password=DEMO_PASSWORD)
        customer = users.filter(username="demo").first() or users.create_user("demo", password=DEMO_PASSWORD)
        workspace = workspace_get_or_create(slug="demo", name="Demo workspace")
        workspace.members.add(customer)
        key = self._demo_key(workspace, customer)
        self.stdout.write(
            f"Operator login: operator / {DEMO_PASSWORD}\n"
            f"Customer login: demo / {DEMO_PASSWORD}\n"
            f"Demo test-mode API key: {key}"
        )

    def _demo_key(self, workspace, customer):
        """Only a hash of a key is stored, so the demo key itself is kept in var/ to be printed again next time."""
        if KEY_FILE.exists():
            key = KEY_FILE.read_text().strip()
            if ApiKey.objects.filter(workspace=workspace, key_hash=hash_key(key), revoked_at__isnull=True).exists():
                return key
        for stale in ApiKey.objects.filter(workspace=workspace, label="demo"):
            api_key_revoke(api_key=stale)
            api_key_update(api_key=stale, label=f"demo (replaced {timezone.now():%Y-%m-%d %H:%M:%S})")
        _, key = api_key_create(workspace=workspace, label="demo", mode=ApiKey.Mode.TEST, created_by=customer)
        KEY_FILE.write_text(key)
        return key
