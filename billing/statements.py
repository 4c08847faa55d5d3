"""Hand-written SQL for the statements on the request path that the ORM cannot say in one round trip.

Each is plain SQL that SQLite (3.35 or later, for RETURNING) and PostgreSQL both run; billing/tests/
test_statements.py holds each to what the ORM does for the same change.
"""

from django.db import connection

from .models import Wallet


def wallet_hold_take(*, workspace_id: int, amount_micros: int) -> tuple[bool, int] | None:
    """Adds `amount_micros` to the wallet's held sum while its balance still covers it, and returns whether the
    workspace has an active spend control and what the wallet held before; None when the balance does not cover
    it, or there is no wallet. One UPDATE … RETURNING, where the ORM needs an UPDATE and then a SELECT: the
    admission of every live run takes it, and then reads the controls only where there are some.

    The row lock the UPDATE takes lasts until the transaction ends, and PostgreSQL re-checks the condition after
    waiting for it (SQLite lets one writer in at a time): two runs admitted at once never spend the same money.
    """
    table, quote = Wallet._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(table)} SET held_micros = held_micros + %s "
            "WHERE workspace_id = %s AND balance_micros >= held_micros + %s RETURNING controls_active, held_micros",
            [amount_micros, workspace_id, amount_micros],
        )
        row = cursor.fetchone()
    return None if row is None else (bool(row[0]), row[1] - amount_micros)
