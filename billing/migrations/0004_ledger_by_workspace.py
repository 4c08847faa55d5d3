import django.db.models.deletion
from django.db import migrations, models


def workspace_of_wallet(apps, schema_editor):
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    for entry in LedgerEntry.objects.select_related("wallet").iterator():
        LedgerEntry.objects.filter(pk=entry.pk).update(workspace_id=entry.wallet.workspace_id)


class Migration(migrations.Migration):
    """Ledger entries point at their workspace, so appending one needs no lookup of the wallet row first."""

    dependencies = [("billing", "0003_wallet_ledger")]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="workspace",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="ledger_entries",
                to="billing.workspace",
            ),
        ),
        migrations.RunPython(workspace_of_wallet, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="ledgerentry", name="billing_ledgerentry_newest"),
        migrations.RemoveField(model_name="ledgerentry", name="wallet"),
        migrations.AlterField(
            model_name="ledgerentry",
            name="workspace",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="ledger_entries", to="billing.workspace"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["workspace", "-id"], name="billing_ledgerentry_ws_newest"),
        ),
    ]
