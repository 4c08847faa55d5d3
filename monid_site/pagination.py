"""Keyset pagination for every list, the API's and the pages': a page is the rows after the last one shown, in a
fixed order, so it costs the same at any depth and stays right while rows arrive. The API hands the position out
as an opaque cursor: a signed value, so a tampered cursor is a clean 400."""

import datetime

from django.core import signing
from django.db.models import Q
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers
from rest_framework.fields import empty

from .errors import ApplicationError


def cursor_dump(position, *, kind: str) -> str:
    """`kind` names the list, so a cursor of one list is refused by another instead of misread."""
    return signing.dumps(position, salt=f"monid.v1.cursor.{kind}", compress=True)


def cursor_load(cursor: str, *, kind: str):
    try:
        return signing.loads(cursor, salt=f"monid.v1.cursor.{kind}")
    except signing.BadSignature:
        raise ApplicationError(400, "The cursor is not one this API gave out; start again without a cursor.") from None


class LimitField(serializers.IntegerField):
    """A list's `limit` query parameter. DRF reads an empty query parameter as a form's empty field, not given;
    an empty limit (`?limit=`) is refused instead, since no client means the default by it and the OpenAPI
    document promises an integer."""

    def __init__(self, *, max_value: int):
        super().__init__(min_value=1, max_value=max_value, default=10)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


class PageQuerySerializer(serializers.Serializer):
    """Query parameters of every list; as in HTML forms, an empty cursor (`?cursor=`) counts as not given."""

    limit = LimitField(max_value=100)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)


def keyset_page(rows, *, order: tuple[str, ...], after, limit: int) -> tuple[list, object]:
    """Up to `limit` of `rows` in `order` (fields, "-" for descending, together unique) after the position
    `after`, or from the first when it is None; and the position of the page's last row, or None when no row follows
    it, so the last page never points on to an empty one.

    A position is the row's values of the `order` fields, a list; the value alone when `order` has one field (as
    the cursors given out before were, so they still work)."""
    if after is not None:
        rows = rows.filter(_after(order, after if len(order) > 1 else [after]))
    page = list(rows.order_by(*order)[: limit + 1])
    if len(page) <= limit:
        return page, None
    position = [_value(page[limit - 1], field.removeprefix("-")) for field in order]
    return page[:limit], position if len(order) > 1 else position[0]


def _after(order, values) -> Q:
    """The rows past `values` in `order`: further on in the first field, or equal in it and further on in the next…"""
    past = Q()
    for index, field in enumerate(order):
        name = field.removeprefix("-")
        equal = {earlier.removeprefix("-"): value for earlier, value in zip(order[:index], values)}
        past |= Q(**equal, **{f"{name}__{'lt' if field.startswith('-') else 'gt'}": values[index]})
    return past


def _value(row, field: str):
    """The row's value of a field or relation path (`provider__slug`), as JSON carries it: a time in ISO 8601,
    which the database lookup reads back."""
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def cursor_page(rows, *, order: tuple[str, ...], params: dict, kind: str) -> tuple[list, str | None]:
    """keyset_page for an API list: the position from the cursor of its PageQuerySerializer `params`, and the
    next page's cursor, or None on the last page."""
    after = cursor_load(params["cursor"], kind=kind) if params.get("cursor") else None
    page, position = keyset_page(rows, order=order, after=after, limit=params["limit"])
    return page, None if position is None else cursor_dump(position, kind=kind)


def page_serializer(items: serializers.Serializer, *, name: str, **fields) -> type[serializers.Serializer]:
    """The body of a page of a list, as OpenAPI component `name`: `items` (a serializer with many=True), the cursor
    and any other `fields`."""
    cursor = serializers.CharField(allow_null=True, help_text="Pass back for the next page; null on the last")
    return extend_schema_serializer(component_name=name)(
        type(name, (serializers.Serializer,), {"items": items, "cursor": cursor, **fields})
    )
