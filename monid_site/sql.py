"""INSERTs and an UPDATE without the ORM's machinery, for the few rows every run writes on the request path (the
run, its hold's ledger entry, its timeline, then the run's end): each statement is built once per model and
set of columns, and each value goes through its field's own conversions (pre_save, get_db_prep_save), so the
row stored is the one the ORM would store. What is skipped is the rest: signals (none of these models has a
receiver) and compiling the statement anew for each row, a third of a statement's time here.
monid_site/tests/test_sql.py holds the rows to what the ORM stores, on SQLite and on PostgreSQL.
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
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for instance in instances for field in fields
    ]
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


def row_update(model: type[Model], pk, values: dict, *, unless: tuple[str, tuple]) -> int:
    """Sets `values` (field name → value) on the row keyed `pk` unless its field `unless[0]` holds one of the
    values `unless[1]`; returns how many rows changed, 0 or 1: the condition makes a transition one-way."""
    field_name, excluded = unless
    sql = _update_of(model, tuple(values), field_name, len(excluded))
    field = model._meta.get_field
    params = [field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, pk, *map(str, excluded)])
        return cursor.rowcount


@functools.cache
def _update_of(model: type[Model], names: tuple[str, ...], unless_field: str, excluded: int) -> str:
    quote, meta = connection.ops.quote_name, model._meta
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    placeholders = ", ".join(["%s"] * excluded)
    return (
        f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s "
        f"AND {quote(meta.get_field(unless_field).column)} NOT IN ({placeholders})"
    )
