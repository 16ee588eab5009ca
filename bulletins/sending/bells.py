"""Ringing the bell: queue batch tasks. The tasks carry no rows; each claims whatever is due."""

import math

from django.conf import settings


def ring(*, bulletin_id: int, rows: int, delay: float | None = None) -> int:
    """Queue enough batch tasks for ``rows`` due rows (at least one when rows > 0). Returns how many."""
    from bulletins import tasks  # tasks import this package: import at call time

    bells = math.ceil(rows / settings.BULLETIN_BATCH_SIZE) if rows > 0 else 0
    for _ in range(bells):
        if delay:
            tasks.send_bulletin_batch.schedule((bulletin_id,), delay=delay)
        else:
            tasks.send_bulletin_batch(bulletin_id)
    return bells
