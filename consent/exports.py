"""Everything held about one person, as JSON-ready data (download my data; subject access).

``personal_data_for`` is the single builder: the public "download my data" page and the staff
subject-access feature both use it, so a person sees exactly what staff would send them. Higher
layers (deliveries, comments, invitations) add their sections through ``consent.registry``.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from consent import registry
from consent.models import ConsentEvent, ConsentState, Suppression
from crm import organisation
from crm.models import Contact, EqualityProfile

FORMAT_VERSION = 1


def _when(value) -> str | None:
    return value.isoformat() if value else None


def personal_data_for(contact: Contact) -> dict:
    """A JSON-serialisable dict of every record about ``contact`` (no staff usernames)."""
    data = {
        "format_version": FORMAT_VERSION,
        "generated_at": _when(timezone.now()),
        "controller": organisation.current().controller,
        "contact": _contact_details(contact),
        "topics": [{"slug": t.slug, "name": t.name} for t in contact.topics.order_by("name")],
        "communication_needs": [
            {"need": n.need, "label": n.get_need_display(), "detail": n.detail}
            for n in contact.communication_needs.order_by("need")
        ],
        "equality_answers": _equality_answers(contact),
        "consent_states": _consent_states(contact),
        "consent_history": _consent_history(contact),
        "suppressions": _suppressions(contact),
    }
    for name, section in registry.personal_data_sections(contact).items():
        if name in data:  # a registered section must never hide one of the core records
            raise ImproperlyConfigured(f"Personal data section {name!r} clashes with a built-in section")
        data[name] = section
    return data


def _contact_details(contact: Contact) -> dict:
    return {
        "reference": str(contact.public_id),
        "email": contact.email,
        "name": contact.name,
        "postcode": contact.postcode,
        "locality": contact.locality.name if contact.locality else "",
        "kind": contact.get_kind_display(),
        "organisation": contact.organisation.name if contact.organisation else "",
        "preferred_language": contact.preferred_language,
        "source": contact.get_source_display(),
        "confirmed_at": _when(contact.confirmed_at),
        "created_at": _when(contact.created_at),
        "updated_at": _when(contact.updated_at),
    }


def _equality_answers(contact: Contact) -> dict | None:
    profile = EqualityProfile.objects.filter(contact=contact).first()
    if profile is None:
        return None
    answers = {}
    for field in EqualityProfile.ANSWER_FIELDS:
        value = getattr(profile, field)
        answers[field] = {
            "question": str(EqualityProfile._meta.get_field(field).verbose_name),
            "answer": value,
            "label": getattr(profile, f"get_{field}_display")() if value else "",
        }
    return {"answers": answers, "updated_at": _when(profile.updated_at)}


def _consent_states(contact: Contact) -> list[dict]:
    states = ConsentState.objects.filter(contact=contact).select_related("purpose", "statement")
    return [
        {
            "purpose": s.purpose.code,
            "purpose_name": s.purpose.name,
            "status": s.status,
            "status_label": s.get_status_display(),
            "since": _when(s.since),
            "statement_version": s.statement.version,
        }
        for s in states.order_by("purpose__display_order", "purpose__code")
    ]


def _consent_history(contact: Contact) -> list[dict]:
    events = (
        ConsentEvent.objects.filter(contact=contact)
        .select_related("purpose", "statement")
        .order_by("occurred_at", "id")
    )
    return [
        {
            "purpose": e.purpose.code,
            "purpose_name": e.purpose.name,
            "action": e.action,
            "action_label": e.get_action_display(),
            "method": e.method,
            "method_label": e.get_method_display(),
            "statement_version": e.statement.version,
            "statement_text": e.statement.text,
            "lawful_basis": e.purpose.get_lawful_basis_display(),
            # Staff usernames are not the person's data: say who in general terms.
            "recorded_by": "a member of staff" if e.recorded_by_id else e.recorded_by_label,
            "occurred_at": _when(e.occurred_at),
            "recorded_at": _when(e.recorded_at),
            "evidence_reference": e.evidence_reference,
        }
        for e in events
    ]


def _suppressions(contact: Contact) -> list[dict]:
    rows = Suppression.objects.filter(address_hash=contact.email_hash).select_related("purpose")
    return [
        {
            "purpose": s.purpose.code,
            "reason": s.reason,
            "reason_label": s.get_reason_display(),
            "created_at": _when(s.created_at),
            "lifted_at": _when(s.lifted_at),
        }
        for s in rows.order_by("created_at", "id")
    ]
