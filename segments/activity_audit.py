"""How the audit page reads engagement activity entries (crm.audit_labels registries)."""

from django.urls import reverse

from crm.audit_labels import ObjectKind, register_action_labels, register_detail_labels, register_object_kind

ACTION_LABELS = {
    "activity.created": "Engagement activity created",
    "activity.updated": "Engagement activity changed",
    "activity.status_changed": "Engagement activity status changed",
    "activity.feedback_sent": "Feedback (“you said, we did”) emailed to participants",
    "activity.headcount_added": "Anonymous headcount added to an activity",
    "activity.headcount_removed": "Anonymous headcount removed from an activity",
    "activity.participant_added": "Named participant added to an activity",
    "activity.participant_removed": "Named participant removed from an activity",
    "activity.event_linked": "Event linked to an activity",
    "activity.event_unlinked": "Event unlinked from an activity",
}


def register_audit_labels() -> None:
    register_action_labels(ACTION_LABELS)
    register_detail_labels({"previous_status": "Previous status"})
    register_object_kind("segments.activity", ObjectKind(
        "Engagement activity", name=lambda a: f"Engagement activity “{a.title}”",
        url=lambda a: reverse("segments:activity_detail", args=[a.pk]), gone="Engagement activity (since removed)"))
