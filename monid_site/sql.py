"""INSERTs without the ORM's save machinery, for the few rows every run writes on the request path (the run, its
hold's ledger entry, its timeline): each statement is built once per model, and each value goes through its
field's own conversions (pre_save, then get_db_prep_save), so the row stored is the one save() would store.
What is skipped is the rest of save(): its signals (none of these models has a receiver) and building the
statement anew for each row, a third of an INSERT's time here. monid_site/tests/test_sql.py holds the rows to
what save() stores, on SQLite and on PostgreSQL.
"""

import functools

from django.db import connection
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin


def instances_insert(instances: list[Model]) -> None:
    """Inserts these new instances of one model, in one statement, and marks them saved. Their primary keys
    must be set already unless the database assigns them (an auto field), which is then left unread."""
    if not instances:
        return
    fields, sql = _insert_of(type(instances[0]))
    rows = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection)
              for instance in instances for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql + ", ".join([rows] * len(instances)), params)
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias


@functools.cache
def _insert_of(model: type[Model]) -> tuple[list, str]:
    """The fields an INSERT of `model` writes (all but a database-assigned key), and the statement up to VALUES."""
    quote = connection.ops.quote_name
    fields = [field for field in model._meta.concrete_fields if not isinstance(field, AutoFieldMixin)]
    columns = ", ".join(quote(field.column) for field in fields)
    return fields, f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "
