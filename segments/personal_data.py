"""The segments app's rows about one person, for subject access and erasure (consent.registry)."""

from crm.models import Contact
from segments.models import ActivityParticipant, Invitation


def _when(value) -> str | None:
    return value.isoformat() if value else None


def invitations_of(contact: Contact) -> list[dict]:
    """Every event the person was invited to or came to, with the export that listed them."""
    rows = Invitation.objects.filter(contact=contact).select_related("event", "export").order_by("event__starts_at")
    return [
        {
            "event": i.event.title,
            "event_kind": i.event.get_kind_display(),
            "event_starts_at": _when(i.event.starts_at),
            "how": i.get_source_display(),
            "invited_at": _when(i.invited_at),
            "on_invitation_list": (
                {"purpose": i.export.stated_purpose, "exported_at": _when(i.export.created_at)} if i.export else None
            ),
            "response": i.get_response_display(),
            "waiting_list": i.waiting_list,
            "access_needs": i.access_needs,
            "attended": i.attended,
        }
        for i in rows
    ]


def erase_invitations(contact: Contact) -> dict:
    """Delete the person's invitations; the exports' row counts stay, they name nobody."""
    deleted, _ = Invitation.objects.filter(contact=contact).delete()
    return {"invitations": deleted}


def contact_panel(contact: Contact) -> dict:
    """The staff contact page's "Events" panel: invitations, answers and attendance, with the export that
    listed the person (rendered from segments/templates/segments/_contact_panel.html)."""
    rows = (Invitation.objects.filter(contact=contact).select_related("event", "export")
            .order_by("-event__starts_at")[:100])
    return {"invitations": list(rows), "total": Invitation.objects.filter(contact=contact).count()}


# --- engagement activities: named participants (ActivityParticipant) --------------------------------

def activity_participations_of(contact: Contact) -> list[dict]:
    """Every activity the person was recorded as taking part in (not event attendance: see invitations)."""
    rows = (ActivityParticipant.objects.filter(contact=contact).select_related("activity", "activity__programme")
            .order_by("added_at"))
    return [
        {
            "activity": p.activity.title,
            "kind": p.activity.get_kind_display(),
            "programme": p.activity.programme.name,
            "recorded_at": _when(p.added_at),
        }
        for p in rows
    ]


def erase_activity_participations(contact: Contact) -> dict:
    """Delete the person's participant rows; the activities' anonymous headcounts name nobody and stay."""
    deleted, _ = ActivityParticipant.objects.filter(contact=contact).delete()
    return {"activity_participations": deleted}


def activity_panel(contact: Contact) -> dict:
    """The staff contact page's "Engagement activities" panel (segments/activities/_contact_panel.html)."""
    rows = (ActivityParticipant.objects.filter(contact=contact).select_related("activity", "activity__programme")
            .order_by("-added_at")[:100])
    return {"participations": list(rows)}
