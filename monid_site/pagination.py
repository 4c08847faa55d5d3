"""Opaque cursors for the API's keyset-paginated lists: a signed position, so a tampered cursor is a clean 400."""

from django.core import signing
from rest_framework import serializers

from .errors import ApplicationError



def cursor_dump(position, *, kind: str) -> str:
    """`kind` names the list, so a cursor of one list is refused by another instead of misread."""
    return signing.dumps(position, salt=f"monid.v1.cursor.{kind}", compress=True)


def cursor_load(cursor: str, *, kind: str):
    try:
        return signing.loads(cursor, salt=f"monid.v1.cursor.{kind}")
    except signing.BadSignature:
        raise ApplicationError(400, "The cursor is not one this API gave out; start again without a cursor.")


class PageQuerySerializer(serializers.Serializer):
    """Query parameters of every list; as in HTML forms, an empty parameter (`?cursor=`) counts as not given."""

    limit = serializers.IntegerField(min_value=1, max_value=100, default=10)
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
