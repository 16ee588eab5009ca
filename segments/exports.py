"""Invitation lists: a segment, for an event, as CSV or XLSX — lawful, recorded, and short-lived.

Only people reachable for ``events`` now are listed. Each export is recorded (who, when, which
segment and its rules at that moment, the stated purpose, columns, row count, SHA-256 of the
file), the people listed are recorded as invited to the event, and the file lives on disk until
its signed link expires (7 days), when a periodic task deletes it. Special-category columns are
offered only to staff with the equality permission, and filled only for people whose own
``equality_targeting`` consent allows it: everyone else's cells are left blank.
"""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Aggregate, CharField, F, FilteredRelation, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from consent.models import Purpose
from consent.selectors import contacts_reachable_for
from crm.audit import Actor, record_audit
from crm.bulk_sql import in_list
from crm.models import CommunicationNeed, Contact, EqualityProfile, Topic
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
        raise ValidationError({"stated_purpose": "Say what the list is for, e.g. 'Big Chat, Central Library, 12 March'"})
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


BASE_FIELDS = ("pk", "name", "email", "postcode", "locality__name", "kind", "organisation__name", "preferred_language")
KIND_LABELS = dict(Contact.Kind.choices)
NEED_LABELS = dict(CommunicationNeed.Need.choices)


def _rows(people, columns: list[Column]):
    """Rows in chunks of plain tuples: one query per chunk for each related table, never one per person.

    Topics and the events consent come in the people query itself (a comma-joined list of topic ids,
    and the consent state joined once): walked in name order, separate per-chunk lookups would each
    visit their tables at random. The people come through the ORM's iterator (a server-side cursor
    on PostgreSQL), so memory stays flat."""
    keys = {c.key for c in columns}
    fields = [*BASE_FIELDS]
    if "topics" in keys:
        through = Contact.topics.through
        people = people.annotate(topic_ids=Subquery(
            through.objects.filter(contact_id=OuterRef("pk")).order_by().values("contact_id")
            .annotate(ids=JoinedIds("topic_id")).values("ids")))
        fields.append("topic_ids")
    if "consent" in keys:
        events = Purpose.objects.get(code=Purpose.Code.EVENTS).pk
        people = people.annotate(
            events_state=FilteredRelation("consent_states", condition=Q(consent_states__purpose_id=events)),
            events_since=Cast("events_state__since", CharField()), events_version=F("events_state__statement__version"))
        fields += ["events_since", "events_version"]
    wording = _Wording()
    chunk = []
    for row in people.values_list(*fields).iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from _chunk_rows(chunk, columns, wording)
            chunk = []
    if chunk:
        yield from _chunk_rows(chunk, columns, wording)


class JoinedIds(Aggregate):
    """Ids joined with commas (GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL)."""

    function = "GROUP_CONCAT"
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s((%(expressions)s)::text, ',')", **extra_context)


class _Wording:
    """Column text for values many people share, each distinct value formatted once per export."""

    def __init__(self):
        self.topic_names = dict(Topic.objects.values_list("pk", "name"))
        self.london = timezone.get_current_timezone()
        self._topics: dict[str, str] = {}
        self._consent: dict[tuple, str] = {}

    def topics(self, joined_ids: str | None) -> str:
        if not joined_ids:
            return ""
        text = self._topics.get(joined_ids)
        if text is None:
            names = sorted(self.topic_names[int(i)] for i in joined_ids.split(","))
            text = self._topics[joined_ids] = "; ".join(names)
        return text

    def consent(self, since_utc_text: str | None, version) -> str:
        """``since`` comes as its UTC text ("2026-03-29 00:30:00…"): London's offset changes only on
        the hour, so the UTC date and hour decide the local date; each distinct hour is converted once."""
        if not since_utc_text:
            return ""
        key = (since_utc_text[:13], version)
        text = self._consent.get(key)
        if text is None:
            hour = datetime.fromisoformat(since_utc_text[:13] + ":00+00:00").astimezone(self.london)
            text = self._consent[key] = f"{hour:%-d %B %Y}, wording version {version}"
        return text


def _chunk_rows(chunk: list[tuple], columns: list[Column], wording: _Wording):
    ids = [row[0] for row in chunk]
    keys = {c.key for c in columns}
    related = {"communication_needs": _needs(ids) if "communication_needs" in keys else {}}
    if "topics" in keys:
        related["topics"] = {row[0]: wording.topics(row[8]) for row in chunk}
    if "consent" in keys:
        related["consent"] = {row[0]: wording.consent(row[-2], row[-1]) for row in chunk}
    equality = _equality(ids) if any(c.equality for c in columns) else {}
    getters = [_getter(c, related, equality) for c in columns]
    for row in chunk:
        yield [get(row) for get in getters]


def _getter(column: Column, related: dict, equality: dict):
    base = {"name": 1, "email": 2, "postcode": 3, "locality": 4, "organisation": 6, "preferred_language": 7}
    if column.key in base:
        index = base[column.key]
        return lambda row: row[index] or ""
    if column.key == "kind":
        return lambda row: KIND_LABELS.get(row[5], row[5])
    if column.key in related:
        values = related[column.key]
        return lambda row: values.get(row[0], "")
    labels = dict(EqualityProfile._meta.get_field(column.key).choices)
    answers = equality.get(column.key, {})
    return lambda row: labels.get(answers.get(row[0], ""), "")


def _joined(pairs) -> dict[int, str]:
    joined: dict[int, list[str]] = {}
    for contact_id, text in pairs:
        joined.setdefault(contact_id, []).append(text)
    return {contact_id: "; ".join(texts) for contact_id, texts in joined.items()}


def _needs(ids) -> dict[int, str]:
    rows = CommunicationNeed.objects.filter(in_list(CommunicationNeed, "contact_id", ids)).order_by(
        "need").values_list("contact_id", "need", "detail")
    return _joined((cid, NEED_LABELS.get(need, need) + (f" ({detail})" if detail else "")) for cid, need, detail in rows)


def _equality(ids) -> dict[str, dict[int, str]]:
    """Answers only of people whose own equality_targeting consent allows it; everyone else stays blank."""
    allowed = contacts_reachable_for(purpose=Purpose.Code.EQUALITY_TARGETING).filter(pk__in=ids).values("pk")
    fields = EqualityProfile.ANSWER_FIELDS
    by_field: dict[str, dict[int, str]] = {f: {} for f in fields}
    for row in EqualityProfile.objects.filter(contact_id__in=allowed).values_list("contact_id", *fields):
        for field, value in zip(fields, row[1:], strict=True):
            by_field[field][row[0]] = value
    return by_field


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
