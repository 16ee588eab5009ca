"""Thin Huey tasks. They carry no rows: a batch task claims whatever is due from the ledger."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from bulletins import sending


# They return nothing: Huey would keep every return value in its result store, unread, for ever.
@db_task()
def send_bulletin_batch(bulletin_id: int) -> None:
    sending.send_batch(bulletin_id=bulletin_id)


@db_periodic_task(crontab(minute="*"))
def sweep_bulletin_sends() -> None:
    sending.sweep()
