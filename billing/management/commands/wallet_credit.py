from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from billing.models import Workspace
from billing.queries import wallet_available_and_held
from billing.services import wallet_credit
from monid_site.errors import ApplicationError
from monid_site.money import MICROS_PER_DOLLAR


def usd_to_micros(text: str) -> int:
    """Exact dollars to micro-dollars: a float would lose cents, and a fraction of a micro-dollar is refused."""
    try:
        micros = Decimal(text) * MICROS_PER_DOLLAR
    except InvalidOperation:
        raise CommandError(f"--amount-usd must be a number of dollars, such as 25 or 12.50, not {text!r}.") from None
    if not micros.is_finite() or micros != micros.to_integral_value():
        raise CommandError(f"--amount-usd {text} is not a whole number of micro-dollars (at most 6 decimals).")
    return int(micros)


class Command(BaseCommand):
    help = "Credit a workspace's wallet; the credit is appended to its ledger with a note."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="Workspace slug")
        parser.add_argument("--amount-usd", required=True, help="Dollars, up to 6 decimals, e.g. 25 or 12.50")
        parser.add_argument("--note", default="Credited with manage.py wallet_credit", help="Why; kept on the entry")

    def handle(self, *args, workspace, amount_usd, note, **options):
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"There is no workspace {workspace!r}.")
        try:
            wallet_credit(workspace=ws, amount_micros=usd_to_micros(amount_usd), note=note)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        available, held = wallet_available_and_held(workspace=ws)
        self.stdout.write(
            f"Credited ${Decimal(amount_usd)} to {ws.slug}: ${Decimal(available) / MICROS_PER_DOLLAR} "
            f"available, ${Decimal(held) / MICROS_PER_DOLLAR} held."
        )
