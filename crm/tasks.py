"""Thin Huey tasks for the crm layer: each calls one function and is safe to run twice."""

from django.contrib.auth import get_user_model
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from crm.audit import Actor, check_chain

CHAIN_CHECK_LOCK = "crm.audit.check_chain"


@db_task()
@lock_task(CHAIN_CHECK_LOCK)  # a second request while one check runs is dropped, not queued behind it
def check_audit_chain(user_id: int | None = None, ip_address: str | None = None) -> None:
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    check_chain(actor=Actor.staff(user, ip_address) if user else Actor.system())


@db_periodic_task(crontab(minute="47", hour="2"))
@lock_task(CHAIN_CHECK_LOCK)
def nightly_audit_chain_check() -> None:
    check_chain(actor=Actor.system())
