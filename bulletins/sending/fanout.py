"""Fan-out: one INSERT … SELECT creates a Delivery row per recipient (DESIGN.md, "Sending bulletins").

The recipients are ``bulletins.audience.audience_for`` — the same query that counted them before
approval — compiled as a subquery, so 100,000 rows cost one statement and no Python loop.
The unique (bulletin, contact) constraint makes a second run add nobody.

An event invitation's recipients are recorded as invited (``segments.Invitation``) only when their
copy is sent, not here: see ``bulletins.sending.record.record_emailed_invitations``.
"""

from django.db import connection

from bulletins.audience import audience_for, segment_actor
from bulletins.models import Bulletin, Delivery


def create_deliveries(*, bulletin: Bulletin) -> int:
    """Insert the missing Delivery rows for ``bulletin``; returns how many were added."""
    # The approved audience, under the approver's authority (they read it; protected rules need
    # their permission), whoever presses "send" or whether a schedule does.
    recipients = audience_for(bulletin=bulletin, actor=segment_actor(bulletin), use="bulletin send")
    recipients = recipients.order_by().values_list("pk", flat=True)
    sub_sql, sub_params = recipients.query.get_compiler(connection=connection).as_sql()
    # "WHERE true" before ON CONFLICT: SQLite would otherwise read ON as a join constraint.
    # The table name comes from model metadata; the subquery is compiled by the ORM, with parameters.
    sql = (
        f"INSERT INTO {Delivery._meta.db_table} "  # noqa: S608
        "(bulletin_id, contact_id, status, reason, attempts, provider_message_id, provider_status, soft_bounces) "
        f"SELECT %s, recipient.pk, %s, '', 0, '', '', 0 FROM ({sub_sql}) AS recipient WHERE true "
        "ON CONFLICT (bulletin_id, contact_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [bulletin.pk, Delivery.Status.PENDING, *sub_params])
        return cursor.rowcount

