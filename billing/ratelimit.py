"""Counting each key's requests per minute in one atomic round trip, on every request, whichever store holds
the counts: INCR in Redis when there is one, else an upsert of the key's row for the minute in the database.
(The cache's add and incr would take three Redis round trips, or a dozen statements on the database cache,
and the latter are not even atomic.)"""

import functools

import redis
from django.conf import settings
from django.db import connection

from .models import RequestWindow


def requests_counted(*, api_key_id: int, minute: int) -> int:
    """Counts one more request of the key in `minute` (minutes since the epoch); returns the minute's count."""
    if settings.REDIS_URL:
        name = f"monid:ratelimit:{api_key_id}:{minute}"
        pipeline = _redis().pipeline(transaction=False)
        pipeline.incr(name).expire(name, 120, nx=True)
        return pipeline.execute()[0]
    table, quote = RequestWindow._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {quote(table)} ("api_key_id", "minute", "requests") VALUES (%s, %s, 1) '
            f'ON CONFLICT ("api_key_id", "minute") DO UPDATE SET "requests" = {quote(table)}."requests" + 1 '
            'RETURNING "requests"',
            [api_key_id, minute],
        )
        count = cursor.fetchone()[0]
    if count == 1:  # the key's first request this minute: its earlier minutes are done with
        RequestWindow.objects.filter(api_key_id=api_key_id, minute__lt=minute).delete()
    return count


@functools.cache
def _redis() -> redis.Redis:
    """One client, and so one connection pool, per process."""
    return redis.Redis.from_url(settings.REDIS_URL)
