"""Audit entries as sentences for a data protection lead: action labels, object names, readable details.

An entry stores codes (``sar.exported``, ``crm.contact`` 2001, ``{"added": [1]}``) because codes are
stable and carry no personal data. This module turns them into "Subject access export downloaded",
"Contact record", "Added topics: Dementia". It never shows a person's name, address or postcode:
a contact is named "Contact record" (with a link while it exists), never by who they are.

Registries, so apps above crm add their own without crm importing them (they call these from their
AppConfig.ready()):
- ``register_action_labels({"bulletin.sent": "Bulletin sent"})``
- ``register_object_kind("bulletins.bulletin", ObjectKind("Bulletin", name_field="subject", ...))``
- ``register_detail_labels({"recipients": "Recipients"})``
Every action code recorded anywhere must have a label (tests/test_audit_labels.py checks the code).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

# --- Action labels -----------------------------------------------------------------------------------
ACTION_LABELS: dict[str, str] = {
    # people (crm)
    "contact.created": "Contact record created",
    "contact.details_changed": "Contact details corrected",
    "contact.email_changed": "Email address changed",
    "contact.email_change_needs_confirmation": "Email address changed: consent waits for the new address to confirm",
    "contact.topics_changed": "Topics of interest changed",
    "contact.communication_needs_changed": "Communication needs changed",
    "contact.merged": "Duplicate record merged into this one",
    "contact.merged_away": "Record merged into another and removed",
    "contact.erased": "Person erased",
    "contact.unconfirmed_expired": "Unconfirmed sign-up deleted after 30 days",
    "contact.personal_links_invalidated": "Every earlier personal link stopped working",
    "contact.data_access_link_used": "Single-use data link used",
    "equality.answers_saved": "Equality answers saved",
    "equality.answers_viewed": "Equality answers viewed by staff",
    "equality.report_downloaded": "Report 'Who are we missing' downloaded",
    "organisation.localities_loaded": "Localities and postcode districts loaded",
    # consent
    "consent.given": "Consent given (awaiting confirmation)",
    "consent.confirmed": "Consent given and confirmed",
    "consent.withdrawn": "Consent withdrawn",
    "consent.new_address": "Consent waits for the new address to confirm",
    "consent.given_many": "Consent given for many people at once",
    "consent.confirmed_many": "Consent confirmed for many people at once",
    "consent.withdrawn_many": "Consent withdrawn for many people at once",
    "consent.new_address_many": "Consent put on hold for many people at once",
    "consent.suppressed": "Address suppressed (never email again)",
    "suppression.pepper_rotated": "Suppression list re-keyed with a new pepper",
    "signup.known_address": "Sign-up from an address already on record",
    "signup.repeated": "Sign-up repeated while awaiting confirmation",
    "preferences.link_requested": "Preferences link requested",
    "personal_data.link_requested": "Link to download their data requested",
    "personal_data.downloaded": "Person downloaded their data",
    "statement.drafted": "Consent wording drafted",
    "statement.edited": "Consent wording draft edited",
    "statement.published": "Consent wording published",
    "retention.run": "Retention check run",
    # data protection cases
    "sar.opened": "Subject access request opened",
    "sar.contact_linked": "Subject access request linked to a contact record",
    "sar.identity_checked": "Subject access request: identity confirmed",
    "sar.clock_stopped": "Subject access request: clock stopped for clarification",
    "sar.clock_restarted": "Subject access request: clock restarted",
    "sar.closed": "Subject access request closed",
    "sar.exported": "Subject access export downloaded",
    "erasure.opened": "Erasure request opened",
    "erasure.contact_linked": "Erasure request linked to a contact record",
    "erasure.completed": "Erasure request completed",
    "erasure.refused": "Erasure request refused",
    # staff
    "staff.account_created": "Staff account created",
    "staff.roles_changed": "Staff roles changed",
    "staff.role_change_requested": "Role change asked for (waits for a second Administrator)",
    "staff.role_change_approved": "Role change approved by a second Administrator",
    "staff.role_change_declined": "Role change declined",
    "staff.account_deactivated": "Staff account deactivated",
    "staff.account_reactivated": "Staff account reactivated",
    "staff.password_reset": "Staff password reset by an Administrator",
    "staff.password_changed": "Staff member changed their own password",
    "staff.second_factor_reset": "Second factor removed by an Administrator",
    "staff.second_factor_enrolment_started": "Authenticator app set-up started",
    "staff.second_factor_enrolled": "Authenticator app set up",
    "staff.second_factor_locked_out": "Locked out after too many wrong codes",
    "staff.signed_in": "Signed in",
    "staff.signed_out": "Signed out",
    "staff.api_token_created": "API token created",
    "staff.api_token_revoked": "API token revoked",
    # the system
    "audit.chain_checked": "Audit log checked for tampering",
    "demo.loaded": "Demo data loaded",
    "demo.reset": "Demo data removed",
    "demo.staff_ensured": "Demo staff accounts restored",
    # bulletins and segments (higher apps: their labels are here until they register their own)
    "bulletin.created": "Bulletin created",
    "bulletin.edited": "Bulletin edited",
    "bulletin.item_added": "Bulletin item added",
    "bulletin.item_edited": "Bulletin item edited",
    "bulletin.item_removed": "Bulletin item removed",
    "bulletin.item_moved": "Bulletin item moved",
    "bulletin.approved": "Bulletin approved",
    "bulletin.scheduled": "Bulletin scheduled",
    "bulletin.unscheduled": "Bulletin schedule cancelled",
    "bulletin.test_sent": "Test bulletin sent",
    "bulletin.previewed_as_contact": "Bulletin previewed as a contact would see it",
    "bulletin.send_started": "Bulletin sending started",
    "bulletin.send_paused": "Bulletin sending paused",
    "bulletin.send_resumed": "Bulletin sending resumed",
    "bulletin.send_cancelled": "Bulletin sending cancelled",
    "bulletin.send_finished": "Bulletin sending finished",
    "bulletin.comment_submitted": "Comment submitted on a bulletin",
    "bulletin.comment_approved": "Comment approved for publication",
    "bulletin.comment_rejected": "Comment rejected",
    "segment.created": "Segment created",
    "segment.updated": "Segment changed",
    "segment.equality_rules_used": "Segment uses equality answers",
    "segment.exported": "Invitation list exported",
    "segment.export_downloaded": "Invitation list downloaded",
    "segment.exports_expired": "Expired invitation lists deleted",
    "event.created": "Event created",
    "event.updated": "Event changed",
    "event.rsvp": "Reply to an event invitation",
    "event.place_offered": "Place offered from the waiting list",
    "event.register_saved": "Event attendance register saved",
    "event.attendance_added": "Attendance recorded",
    "event.attendance_uploaded": "Attendance list uploaded",
    "import.previewed": "Contact import previewed",
    "import.confirmed": "Contact import confirmed",
    "import.cancelled": "Contact import cancelled",
    "baseline.uploaded": "Population baseline uploaded",
}


def register_action_labels(labels: dict[str, str]) -> None:
    ACTION_LABELS.update(labels)


def action_label(code: str) -> str:
    """The sentence for an action code; an unlabelled code reads as words rather than as a code."""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    return code.replace(".", ": ").replace("_", " ").capitalize()


# --- Object names --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectKind:
    """How to name one kind of object. ``name`` builds the name from the loaded object (None when it
    no longer exists); ``url`` the staff page for it. Neither may use personal data."""

    label: str
    name: Callable[[object], str] | None = None
    url: Callable[[object], str] | None = None
    gone: str = ""  # shown when the object no longer exists, e.g. "Erased contact record"
    load: bool = True  # False: the label alone (nothing to look up)


def _url(name: str, **kwargs) -> str:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return ""


def _statement_name(statement) -> str:
    return f"{statement.purpose.name} wording, version {statement.version}"


OBJECT_KINDS: dict[str, ObjectKind] = {
    "crm.contact": ObjectKind("Contact record", url=lambda c: _url("consent_staff:contact", public_id=c.public_id),
                              gone="Contact record (since erased or merged)"),
    "auth.user": ObjectKind("Staff account", name=lambda u: f"Staff account {u.username}",
                            url=lambda u: _url("staff:account", user_id=u.pk)),
    "crm.staffapitoken": ObjectKind("API token", name=lambda t: f"API token {t.prefix} of {t.user.username}"),
    "crm.auditentry": ObjectKind("The audit log", load=False),
    "crm.locality": ObjectKind("Localities", load=False),
    "crm.topic": ObjectKind("Topic", name=lambda t: f"Topic {t.name}"),
    "segments.representation": ObjectKind("Report 'Who are we missing'", load=False),
    "crm.populationbaseline": ObjectKind("Population baseline", name=lambda b: f"Population baseline for {b.area_name}"),
    "consent.purpose": ObjectKind("Consent purposes", load=False),
    "consent.suppression": ObjectKind("Suppression list", load=False),
    "consent.retention": ObjectKind("Retention check", load=False),
    "consent.consentstatement": ObjectKind("Consent wording", name=_statement_name,
                                           url=lambda s: _url("consent_staff:statement", pk=s.pk)),
    "consent.subjectaccessrequest": ObjectKind("Subject access request",
                                               name=lambda c: f"Subject access request {c.reference}",
                                               url=lambda c: _url("consent_staff:sar", pk=c.pk)),
    "consent.erasurerequest": ObjectKind("Erasure request", name=lambda c: f"Erasure request {c.reference}",
                                         url=lambda c: _url("consent_staff:erasure", pk=c.pk)),
}
_SELECT_RELATED = {"crm.staffapitoken": ["user"], "consent.consentstatement": ["purpose"]}


def register_object_kind(object_type: str, kind: ObjectKind, select_related: tuple[str, ...] = ()) -> None:
    OBJECT_KINDS[object_type] = kind
    if select_related:
        _SELECT_RELATED[object_type] = list(select_related)


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _load_objects(entries) -> dict[tuple[str, str], object]:
    """One query per object type on the page."""
    wanted = defaultdict(set)
    for entry in entries:
        kind = OBJECT_KINDS.get(entry.object_type)
        if entry.object_type and entry.object_id.isdigit() and (kind is None or kind.load):
            wanted[entry.object_type].add(int(entry.object_id))
    found = {}
    for object_type, ids in wanted.items():
        model = _model(object_type)
        if model is None:
            continue
        rows = model._default_manager.filter(pk__in=ids).select_related(*_SELECT_RELATED.get(object_type, []))
        found.update({(object_type, str(row.pk)): row for row in rows})
    return found


def _object_html(entry, loaded, can_follow) -> str:
    if not entry.object_type:
        return ""
    kind = OBJECT_KINDS.get(entry.object_type)
    if kind is None:
        model = _model(entry.object_type)
        return str(model._meta.verbose_name).capitalize() if model else "Record"
    if not kind.load:
        return kind.label
    obj = loaded.get((entry.object_type, entry.object_id))
    if obj is None:
        if entry.object_type == "crm.contact" and not entry.object_id.isdigit():
            return f"{kind.label} erased under {entry.object_id}"  # erasure keeps the case reference
        return kind.gone or f"{kind.label} (since removed)"
    name = kind.name(obj) if kind.name else kind.label
    url = kind.url(obj) if kind.url and can_follow(entry.object_type) else ""
    return format_html('<a href="{}">{}</a>', url, name) if url else name


# --- Details -------------------------------------------------------------------------------------------
DETAIL_LABELS: dict[str, str] = {
    "purpose": "Purpose", "purposes": "Purposes", "method": "How", "statement_version": "Wording version",
    "version": "Version", "fields": "Fields", "added": "Added", "removed": "Removed", "needs": "Needs",
    "answered": "Questions answered", "source": "Source", "kind": "Kind", "roles": "Roles", "role": "Role",
    "change": "Change", "temporary_password": "Temporary password issued", "tokens_revoked": "API tokens revoked",
    "devices_removed": "Devices removed", "failures": "Wrong codes", "second_factor": "Second factor",
    "device": "Device", "format": "Format", "checked_on": "Identity confirmed on", "stopped_on": "Stopped on",
    "days_paused": "Days paused", "closed_on": "Closed on", "status": "Status", "reason": "Reason",
    "entries": "Entries checked", "intact": "Intact", "broken_count": "Broken links",
    "events_copied": "Consent events copied", "erased": "Rows erased", "contacts": "Contacts", "count": "Count",
    "deleted_unconfirmed": "Unconfirmed sign-ups deleted", "awaiting_review": "Awaiting review",
    "purposes_awaiting_confirmation": "Purposes awaiting confirmation", "created": "Accounts created",
    "seed": "Seed", "consent_events": "Consent events", "consent_states": "Consent states",
    "suppressions": "Suppressions", "recipients": "Recipients", "pending": "Still to send",
    "cancelled": "Cancelled", "direction": "Direction", "rows": "Rows", "files_deleted": "Files deleted",
    "response": "Response", "waiting_list": "On the waiting list", "attended": "Attended", "matched": "Matched",
    "walk_in": "Walk-in", "use": "Use", "conditions": "Conditions", "length": "Characters", "reply": "Reply given",
    "scheduled_for": "Scheduled for", "people": "People", "skipped": "Skipped", "recorded": "Recorded",
}
# Keys that only join records together (ids, fingerprints): they add nothing to the sentence.
HIDDEN_DETAILS = {"request_id", "user_id", "survivor", "duplicate", "head_entry_id", "head_hash", "broken",
                  "item", "bulletin", "event", "segment", "contact", "event_id"}
CONTACT_KEYS = {"contact_id"}


def register_detail_labels(labels: dict[str, str]) -> None:
    DETAIL_LABELS.update(labels)


def _choices(app_model: str, field: str) -> dict:
    model = _model(app_model)
    return dict(model._meta.get_field(field).choices or []) if model else {}


class _Lookups:
    """Names for the codes and ids that details hold, read once per page."""

    def __init__(self, entries):
        purpose = _model("consent.purpose")
        self.purposes = dict(purpose.objects.values_list("code", "name")) if purpose else {}
        self.methods = _choices("consent.consentevent", "method")
        topic_ids = {value for entry in entries if entry.action == "contact.topics_changed"
                     for key in ("added", "removed") for value in entry.changes.get(key, []) if isinstance(value, int)}
        topic = _model("crm.topic")
        self.topics = dict(topic.objects.filter(pk__in=topic_ids).values_list("pk", "name")) if topic_ids else {}
        contact = _model("crm.contact")
        self.contact_fields = {f.name: str(f.verbose_name) for f in contact._meta.get_fields()
                               if hasattr(f, "verbose_name")} if contact else {}
        self.needs = _choices("crm.communicationneed", "need")
        self.contact_choices = {"source": _choices("crm.contact", "source"), "kind": _choices("crm.contact", "kind")}
        self.equality_fields = {}
        equality = _model("crm.equalityprofile")
        if equality:
            self.equality_fields = {f.name: str(f.verbose_name) for f in equality._meta.get_fields()
                                    if hasattr(f, "verbose_name")}


def _words(values) -> str:
    return ", ".join(str(v) for v in values) if values else "none"


def _value(entry, key, value, lookups: _Lookups) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in ("purpose", "purposes", "purposes_awaiting_confirmation"):
        codes = value if isinstance(value, list) else [value]
        return _words(lookups.purposes.get(code, "every purpose" if code == "all" else code) for code in codes)
    if key == "method":
        return lookups.methods.get(value, str(value).replace("_", " "))
    if key in ("added", "removed") and entry.action == "contact.topics_changed":
        return _words(lookups.topics.get(v, "a topic since removed") for v in value)
    if key == "fields" and entry.action == "contact.details_changed":
        return _words(lookups.contact_fields.get(v, v.replace("_", " ")) for v in value)
    if key == "answered":
        return _words(lookups.equality_fields.get(v, v.replace("_", " ")) for v in value)
    if key in ("source", "kind") and entry.object_type == "crm.contact":
        return str(lookups.contact_choices[key].get(value, value))
    if key == "needs":
        return _words(lookups.needs.get(v, v) for v in value)
    if key.endswith("_on") and isinstance(value, str):
        try:
            return f"{date.fromisoformat(value):%-d %B %Y}"
        except ValueError:
            return value
    if isinstance(value, list):
        return _words(str(v).replace("_", " ") for v in value)
    if isinstance(value, dict):
        return _words(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def _details(entry, lookups: _Lookups) -> list[str]:
    parts = [entry.summary] if entry.summary else []
    for key, value in entry.changes.items():
        if key in HIDDEN_DETAILS or value in (None, "", [], {}):
            continue
        if key in CONTACT_KEYS:
            parts.append("Contact record linked" if entry.action.endswith("_linked") else "About a contact record")
            continue
        label = DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())
        parts.append(f"{label}: {_value(entry, key, value, lookups)}")
    return parts


# --- One row per entry ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditRow:
    entry: object
    action: str
    about: str  # safe HTML: plain text or one link
    details: list[str]


def audit_rows(entries, *, user) -> list[AuditRow]:
    """The page's entries as rows a data protection lead reads. Links only to pages ``user`` may open."""
    entries = list(entries)
    loaded = _load_objects(entries)
    lookups = _Lookups(entries)
    permissions = {"crm.contact": "crm.view_contact", "auth.user": "auth.view_user",
                   "consent.subjectaccessrequest": "consent.view_subjectaccessrequest",
                   "consent.erasurerequest": "consent.view_erasurerequest",
                   "consent.consentstatement": "consent.view_consentstatement"}

    def can_follow(object_type: str) -> bool:
        needed = permissions.get(object_type)
        return needed is None or user.has_perm(needed)

    return [AuditRow(entry=entry, action=action_label(entry.action), about=_object_html(entry, loaded, can_follow),
                     details=_details(entry, lookups)) for entry in entries]


# --- Filter choices for the audit log page -------------------------------------------------------------
ACTION_GROUPS = {
    "contact.": "Any change to a contact record", "consent.": "Any consent change",
    "equality.": "Any use of equality answers", "sar.": "Any subject access step", "erasure.": "Any erasure step",
    "statement.": "Any consent wording change", "staff.": "Any staff account or sign-in action",
    "audit.": "Any audit log check", "bulletin.": "Any bulletin action", "segment.": "Any segment or export action",
    "event.": "Any event action", "import.": "Any contact import action",
}


def action_filter_options(current: str = "") -> list[tuple[str, str]]:
    """(value, label) for the action filter: groups by start of code first, then each action by label."""
    options = [("", "Any action"), *ACTION_GROUPS.items(),
               *sorted(ACTION_LABELS.items(), key=lambda item: item[1])]
    if current and current not in dict(options):
        options.append((current, action_label(current)))
    return options


def object_filter_options(current: str = "") -> list[tuple[str, str]]:
    options = [("", "Anything"), *sorted(((code, kind.label) for code, kind in OBJECT_KINDS.items()),
                                          key=lambda item: item[1])]
    if current and current not in dict(options):
        model = _model(current)
        options.append((current, str(model._meta.verbose_name).capitalize() if model else "Other records"))
    return options
