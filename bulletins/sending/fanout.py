"""Fan-out: one INSERT … SELECT creates a Delivery row per recipient (DESIGN.md, "Sending bulletins").

The recipients are ``bulletins.audience.audience_for`` — the same query that counted them before
approval — compiled as a subquery, so 100,000 rows cost one statement and no Python loop.
The unique (bulletin, contact) constraint makes a second run add nobody.

An event invitation also records each recipient as invited (``segments.Invitation``, source
"Emailed invitation"), set-based from the Delivery rows in the same transaction: the RSVP link in
each copy needs that row, and the event's page and the person's record show it.
"""

from django.db import connection

from bulletins.audience import audience_for, segment_actor
from bulletins.models import Bulletin, Delivery
from segments.models import Invitation


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


def record_invitations(*, bulletin: Bulletin, invited_at) -> int:
    """An Invitation row for everyone with a Delivery for this invitation. Someone already invited (by an
    exported list, or walked in) keeps their row, answer and source; only a missing ``invited_at`` is set."""
    table, deliveries = Invitation._meta.db_table, Delivery._meta.db_table
    sql = (
        f"INSERT INTO {table} "  # noqa: S608 - names from model metadata, values as parameters
        "(event_id, contact_id, source, invited_at, response, waiting_list, access_needs, attended) "
        f"SELECT %s, d.contact_id, %s, %s, '', %s, '', %s FROM {deliveries} AS d WHERE d.bulletin_id = %s "
        f"ON CONFLICT (event_id, contact_id) DO UPDATE SET invited_at = COALESCE({table}.invited_at, excluded.invited_at)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [bulletin.event_id, Invitation.Source.EMAIL, invited_at, False, False, bulletin.pk])
        return cursor.rowcount
