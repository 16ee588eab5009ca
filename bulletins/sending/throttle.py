"""A messages-per-second limit shared by every consumer (settings.BULLETIN_MAX_PER_SECOND).

Fixed one-second windows counted in the Django cache: Redis (atomic INCRBY) when REDIS_URL is set,
otherwise the database cache table, where the read-and-add runs inside a write transaction
(SQLite's IMMEDIATE transactions, or an advisory lock on PostgreSQL) so two consumers cannot both
take the last places in a window.
"""

import time

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, transaction

_KEY = "bulletins:throttle:{}"
_PG_THROTTLE_LOCK = 7_301_912


def _uses_redis() -> bool:
    return "redis" in type(caches["default"]).__module__  # (``cache`` itself is a proxy)


def _add(key: str, n: int) -> int:
    """Add ``n`` to the window's count atomically; the new count."""
    if _uses_redis():
        cache.add(key, 0, timeout=10)
        return cache.incr(key, n)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_THROTTLE_LOCK])
        used = cache.get(key, 0) + n
        cache.set(key, used, timeout=10)
        return used


def acquire(n: int, *, rate: float | None = None, clock=time.time, sleep=time.sleep) -> float:
    """Block until ``n`` sends fit under the shared limit; returns the seconds spent waiting."""
    capacity = max(1, int(rate or settings.BULLETIN_MAX_PER_SECOND))
    waited, remaining = 0.0, n
    while remaining > 0:
        now = clock()
        window = int(now)
        want = min(remaining, capacity)
        used = _add(_KEY.format(window), want)
        granted = max(0, min(want, capacity - (used - want)))
        remaining -= granted
        if remaining > 0:
            pause = window + 1 - clock()
            if pause > 0:
                sleep(pause)
                waited += pause
    return waited
