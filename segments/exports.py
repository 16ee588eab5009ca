"""Invitation lists: a segment, for an event, as CSV or XLSX — lawful, recorded, and short-lived.

Only people reachable for ``events`` now are listed. Each export is recorded (who, when, which
segment and its rules at that moment, the stated purpose, columns, row count, SHA-256 of the
file), the people listed are recorded as invited to the event, and the file lives on disk until
its signed link expires (7 days), when a periodic task deletes it. Special-category columns are
offered only to staff with the equality permission, and filled only for people whose own
``equality_targeting`` consent allows it: everyone else's cells are left blank.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from consent.models import ConsentState, Purpose
from consent.selectors import contacts_reachable_for
from crm.audit import Actor, record_audit
from crm.models import CommunicationNeed, Contact, EqualityProfile
from segments import services
from segments.models import Event, Invitation, InvitationExport, Segment
from segments.rules import parse_rules
from segments.selectors import contacts_in_segment
from segments.spreadsheet import write_csv, write_xlsx

EXPORT_LIFETIME = timezone.timedelta(days=7)
CHUNK = 2000
LINK_SALT = "segments.exports.download"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    equality: bool = False


COLUMNS = [
    Column("name", "Name"),
    Column("email", "Email"),
    Column("postcode", "Postcode"),
    Column("locality", "Locality"),
    Column("kind", "Kind of contact"),
    Column("organisation", "Organisation"),
    Column("topics", "Topics"),
    Column("communication_needs", "Communication needs"),
    Column("preferred_language", "Preferred language"),
    Column("consent", "Agreed to event invitations"),
    *[Column(f, str(EqualityProfile._meta.get_field(f).verbose_name).capitalize(), equality=True)
      for f in EqualityProfile.ANSWER_FIELDS],
]
COLUMNS_BY_KEY = {c.key: c for c in COLUMNS}
DEFAULT_COLUMNS = ["name", "email", "postcode", "locality", "communication_needs", "consent"]


def exports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_invitation_export(*, segment: Segment, event: Event, stated_purpose: str, columns: list[str],
                             file_format: str, actor: Actor) -> InvitationExport:
    """Write the file, record the export and the invitations, in one transaction."""
    chosen = _checked_columns(columns, actor)
    stated_purpose = " ".join((stated_purpose or "").split())
    if not stated_purpose:
        raise ValidationError({"stated_purpose": "Say what the list is for, e.g. 'Big Chat, Bootle, 12 March'"})
    if file_format not in InvitationExport.Format.values:
        raise ValidationError({"file_format": "Choose CSV or Excel"})
    rules = parse_rules(segment.rules)
    with transaction.atomic():
        people = contacts_in_segment(rules=rules, actor=actor, use="export", segment=segment,
                                     reachable_for=Purpose.Code.EVENTS)
        export = InvitationExport.objects.create(
            segment=segment, segment_name=segment.name, rules_snapshot=segment.rules, event=event,
            stated_purpose=stated_purpose[:200], columns=[c.key for c in chosen], file_format=file_format,
            created_by=actor.user, expires_at=timezone.now() + EXPORT_LIFETIME,
        )
        export.file_name = f"{export.public_id}.{file_format}"
        path = exports_dir() / export.file_name
        # A file must not outlive a rolled-back record of it.
        try:
            writer = write_csv if file_format == InvitationExport.Format.CSV else write_xlsx
            rows = _rows(people.order_by("name", "id"), chosen)
            export.row_count, export.sha256 = writer(path, [c.label for c in chosen], rows)
            export.save(update_fields=["file_name", "row_count", "sha256"])
            invited = _record_invitations(people, event=event, export=export)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        record_audit(actor=actor, action="segment.exported", obj=export, summary=stated_purpose[:200],
                     changes={"segment": segment.pk, "event": event.pk, "rows": export.row_count,
                              "columns": export.columns, "format": file_format, "sha256": export.sha256,
                              "newly_invited": invited})
    return export


def _checked_columns(keys: list[str], actor: Actor) -> list[Column]:
    unknown = [k for k in keys if k not in COLUMNS_BY_KEY]
    if unknown or not keys:
        raise ValidationError({"columns": "Choose at least one column from the list"})
    chosen = [COLUMNS_BY_KEY[k] for k in dict.fromkeys(keys)]
    if any(c.equality for c in chosen) and not (actor.user and actor.user.has_perm(services.EQUALITY_PERMISSION)):
        raise PermissionDenied(services.EQUALITY_REFUSAL)
    return chosen


def _rows(people, columns: list[Column]):
    """Rows in chunks: one query per chunk for each related table, never one per person."""
    ids_iter = people.values_list("pk", flat=True).iterator(chunk_size=CHUNK)
    chunk = []
    for contact_id in ids_iter:
        chunk.append(contact_id)
        if len(chunk) == CHUNK:
            yield from _chunk_rows(chunk, columns)
            chunk = []
    if chunk:
        yield from _chunk_rows(chunk, columns)


def _chunk_rows(ids: list[int], columns: list[Column]):
    keys = {c.key for c in columns}
    contacts = Contact.objects.filter(pk__in=ids).select_related("locality", "organisation").in_bulk()
    topics, needs, consent, equality = {}, {}, {}, {}
    if "topics" in keys:
        for contact_id, name in Contact.topics.through.objects.filter(contact_id__in=ids).values_list(
                "contact_id", "topic__name").order_by("topic__name"):
            topics.setdefault(contact_id, []).append(name)
    if "communication_needs" in keys:
        for need in CommunicationNeed.objects.filter(contact_id__in=ids).order_by("need"):
            label = need.get_need_display() + (f" ({need.detail})" if need.detail else "")
            needs.setdefault(need.contact_id, []).append(label)
    if "consent" in keys:
        for state in ConsentState.objects.filter(contact_id__in=ids, purpose__code=Purpose.Code.EVENTS).select_related(
                "statement"):
            since = timezone.localtime(state.since).strftime("%-d %B %Y")
            consent[state.contact_id] = f"{since}, wording version {state.statement.version}"
    if any(c.equality for c in columns):
        # Only people whose own equality_targeting consent allows it; everyone else stays blank.
        allowed = contacts_reachable_for(purpose=Purpose.Code.EQUALITY_TARGETING).filter(pk__in=ids).values("pk")
        equality = {p.contact_id: p for p in EqualityProfile.objects.filter(contact_id__in=allowed)}
    for contact_id in ids:
        contact = contacts[contact_id]
        yield [_cell(c, contact, topics, needs, consent, equality) for c in columns]


def _cell(column: Column, contact: Contact, topics, needs, consent, equality):
    key = column.key
    if column.equality:
        profile = equality.get(contact.pk)
        return getattr(profile, f"get_{key}_display")() if profile and getattr(profile, key) else ""
    values = {
        "name": contact.name, "email": contact.email, "postcode": contact.postcode,
        "locality": contact.locality.name if contact.locality else "",
        "kind": contact.get_kind_display(), "organisation": contact.organisation.name if contact.organisation else "",
        "topics": "; ".join(topics.get(contact.pk, [])), "communication_needs": "; ".join(needs.get(contact.pk, [])),
        "preferred_language": contact.preferred_language, "consent": consent.get(contact.pk, ""),
    }
    return values[key]


def _record_invitations(people, *, event: Event, export: InvitationExport) -> int:
    """One INSERT … SELECT: everyone listed is invited to the event (people invited before are left as they are)."""
    sql, params = people.order_by().annotate(listed_id=F("pk")).values("listed_id").query.sql_with_params()
    table = connection.ops.quote_name(Invitation._meta.db_table)
    insert = (
        f"INSERT INTO {table} (event_id, contact_id, source, export_id, invited_at, response, waiting_list, "  # noqa: S608
        f"access_needs, attended) SELECT %s, listed.listed_id, %s, %s, %s, '', %s, '', %s FROM ({sql}) AS listed "
        "WHERE true ON CONFLICT (event_id, contact_id) DO NOTHING"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # The select list's parameters come before the subquery's.
        cursor.execute(insert, [event.pk, Invitation.Source.EXPORT, export.pk, now, False, False, *params])
        return cursor.rowcount


# --- the download link ----------------------------------------------------------------------

def download_token(export: InvitationExport) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign(export.public_id.hex)


def export_for_download(token: str) -> InvitationExport | None:
    """The export a link names, if the signature is good, it has not expired and its file still exists."""
    try:
        public_id = signing.TimestampSigner(salt=LINK_SALT).unsign(token, max_age=EXPORT_LIFETIME)
    except signing.BadSignature:
        return None
    export = InvitationExport.objects.filter(public_id=public_id, file_deleted_at__isnull=True).first()
    if export is None or export.expires_at <= timezone.now():
        return None
    return export


def record_download(*, export: InvitationExport, actor: Actor) -> Path:
    record_audit(actor=actor, action="segment.export_downloaded", obj=export, summary=export.stated_purpose)
    return exports_dir() / export.file_name


def delete_expired_exports(*, actor: Actor, now=None) -> int:
    """The periodic duty: expired files are deleted; the record (no personal data) stays."""
    now = now or timezone.now()
    count = 0
    for export in InvitationExport.objects.filter(expires_at__lte=now, file_deleted_at__isnull=True):
        (exports_dir() / export.file_name).unlink(missing_ok=True)
        export.file_deleted_at = now
        export.save(update_fields=["file_deleted_at"])
        count += 1
    if count:
        record_audit(actor=actor, action="segment.exports_expired", object_type="segments.invitationexport",
                     changes={"files_deleted": count})
    return count
