"""Thin Huey tasks. They carry no rows: a batch task claims whatever is due from the ledger."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from bulletins import sending


@db_task()
def send_bulletin_batch(bulletin_id: int) -> dict:
    report = sending.send_batch(bulletin_id=bulletin_id)
    return {"claimed": report.claimed, "sent": report.sent, "failed": report.failed, "skipped": report.skipped}


@db_periodic_task(crontab(minute="*"))
def sweep_bulletin_sends() -> dict:
    report = sending.sweep()
    return {"leases_expired": report.leases_expired, "bells": report.bells, "launched": report.launched}
