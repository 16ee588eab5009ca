"""Comments on bulletin items: left by recipients through their signed link, moderated by staff.

Plain text only (escaped wherever shown), at most 2,000 characters, and nothing is published
until a Communications user approves it. Split from ``bulletins.services`` by concept.
"""

import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from bulletins.models import Bulletin, Comment, Delivery, Item
from crm.audit import Actor, record_audit
from crm.models import Contact

MAX_COMMENT = 2000
MAX_REPLY = 2000
DECISIONS = {"approve": Comment.Status.APPROVED, "reject": Comment.Status.REJECTED}
# A web version takes comments once it has gone out.
OPEN_STATUSES = {Bulletin.Status.SENDING, Bulletin.Status.PAUSED, Bulletin.Status.SENT}


def clean_plain_text(value: str, *, limit: int, field: str, label: str) -> str:
    """Trimmed text with line breaks kept and other control characters removed; refuses empty or long."""
    text = "".join(ch for ch in (value or "").replace("\r\n", "\n")
                   if ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf"} or ch == "\u200d").strip()
    if not text:
        raise ValidationError({field: f"Enter your {label}"})
    if len(text) > limit:
        raise ValidationError({field: f"Your {label} must be {limit:,} characters or fewer (it is {len(text):,})"})
    return text


def was_sent_to(*, bulletin: Bulletin, contact: Contact) -> bool:
    return Delivery.objects.filter(bulletin=bulletin, contact=contact, status=Delivery.Status.SENT).exists()


def submit_comment(*, item: Item, contact: Contact, body: str, actor: Actor) -> Comment:
    """A recipient's comment on an item that takes comments; it waits for moderation."""
    text = clean_plain_text(body, limit=MAX_COMMENT, field="body", label="comment")
    with transaction.atomic():
        item = Item.objects.select_related("bulletin").get(pk=item.pk)
        if not item.comments_enabled or item.bulletin.status not in OPEN_STATUSES:
            raise ValidationError("This item does not take comments.", code="comments_closed")
        if not was_sent_to(bulletin=item.bulletin, contact=contact):
            raise ValidationError("Only people this bulletin was sent to can comment on it.", code="not_recipient")
        comment = Comment.objects.create(item=item, contact=contact, body=text)
        record_audit(actor=actor, action="bulletin.comment_submitted", obj=comment,
                     changes={"bulletin": str(item.bulletin.public_id), "length": len(text)})
    return comment


def moderate_comment(*, comment: Comment, decision: str, reply: str = "", actor: Actor) -> Comment:
    """Approve (publish under the item) or reject a comment, optionally with a published reply."""
    if actor.user is None or not actor.user.has_perm("bulletins.moderate_comment"):
        raise PermissionDenied("You do not have permission to moderate comments.")
    if decision not in DECISIONS:
        raise ValidationError({"decision": "Choose whether to publish or reject the comment"})
    reply = (reply or "").strip()
    if reply:
        reply = clean_plain_text(reply, limit=MAX_REPLY, field="reply", label="reply")
    if reply and decision == "reject":
        raise ValidationError({"reply": "A reply is published under the comment, so only add one when you publish it"})
    with transaction.atomic():
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        locked.status, locked.reply = DECISIONS[decision], reply
        locked.moderated_by, locked.moderated_at = actor.user, timezone.now()
        locked.save(update_fields=["status", "reply", "moderated_by", "moderated_at"])
        record_audit(actor=actor, action=f"bulletin.comment_{locked.status}", obj=locked,
                     changes={"reply": bool(reply)})
    return locked


def published_comments(item_ids) -> dict[int, list[Comment]]:
    """item id → its approved comments, oldest first (only the text is shown, never who wrote it)."""
    grouped: dict[int, list[Comment]] = {}
    for comment in Comment.objects.filter(item_id__in=list(item_ids), status=Comment.Status.APPROVED).order_by(
            "created_at", "id"):
        grouped.setdefault(comment.item_id, []).append(comment)
    return grouped


def comments_to_moderate() -> QuerySet[Comment]:
    return (Comment.objects.filter(status=Comment.Status.PENDING)
            .select_related("item", "item__bulletin").order_by("created_at", "id"))
