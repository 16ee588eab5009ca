"""A person's bulletin deliveries and comments in their data export, and their removal on erasure.

Registered with consent.registry from BulletinsConfig.ready(). Erasure keeps only anonymous counts
on each bulletin (``Bulletin.erased_counts``), so its report still adds up after people leave.
"""

from collections import Counter, defaultdict

from bulletins.models import Bulletin, Comment, Delivery
from crm.models import Contact


def _when(value):
    return value.isoformat() if value else None


def deliveries_section(contact: Contact) -> list[dict]:
    rows = Delivery.objects.filter(contact=contact).select_related("bulletin").order_by("bulletin__created_at", "id")
    return [{
        "bulletin": row.bulletin.subject,
        "bulletin_reference": str(row.bulletin.public_id),
        "status": row.status,
        "status_label": row.get_status_display(),
        "reason": row.reason,
        "sent_at": _when(row.sent_at),
        "provider_report": row.get_provider_status_display() if row.provider_status else "",
        "provider_report_at": _when(row.provider_status_at),
    } for row in rows]


def comments_section(contact: Contact) -> list[dict]:
    rows = Comment.objects.filter(contact=contact).select_related("item", "item__bulletin").order_by("created_at", "id")
    return [{
        "bulletin": row.item.bulletin.subject,
        "item": row.item.title,
        "comment": row.body,
        "status": row.status,
        "status_label": row.get_status_display(),
        "reply": row.reply,
        "written_at": _when(row.created_at),
        "moderated_at": _when(row.moderated_at),
    } for row in rows]


def erase_bulletin_rows(contact: Contact) -> dict[str, int]:
    """Delete the person's deliveries and comments; add what they counted to each bulletin's erased_counts."""
    per_bulletin: dict[int, Counter] = defaultdict(Counter)
    for bulletin_id, status, provider_status in Delivery.objects.filter(contact=contact).values_list(
            "bulletin_id", "status", "provider_status"):
        per_bulletin[bulletin_id]["deliveries"] += 1
        per_bulletin[bulletin_id][f"deliveries_{status}"] += 1
        if provider_status:
            per_bulletin[bulletin_id][f"provider_{provider_status}"] += 1
    for bulletin_id, status in Comment.objects.filter(contact=contact).values_list("item__bulletin_id", "status"):
        per_bulletin[bulletin_id]["comments"] += 1
        per_bulletin[bulletin_id][f"comments_{status}"] += 1
    for bulletin in Bulletin.objects.select_for_update().filter(pk__in=per_bulletin).order_by("pk"):
        totals = Counter(bulletin.erased_counts or {})
        totals.update(per_bulletin[bulletin.pk])
        bulletin.erased_counts = dict(totals)
        bulletin.save(update_fields=["erased_counts"])
    deliveries, _ = Delivery.objects.filter(contact=contact).delete()
    comments, _ = Comment.objects.filter(contact=contact).delete()
    return {"deliveries": deliveries, "comments": comments}


def contact_panel(contact: Contact) -> dict:
    """The staff contact page's "Bulletins sent" panel: newest first, at most 50."""
    rows = (Delivery.objects.filter(contact=contact).select_related("bulletin")
            .order_by("-bulletin__send_started_at", "-id")[:50])
    return {"deliveries": list(rows), "delivery_count": Delivery.objects.filter(contact=contact).count(),
            "comment_count": Comment.objects.filter(contact=contact).count()}
