"""Writing a bulletin: content, items, approval by a second person, scheduling, test sends.

Every function is keyword-only, runs in one transaction, locks the bulletin row it decides on and
records an audit entry. Any change to the content makes a new version and withdraws approval, so
what goes out is always exactly what a second Communications user read and approved.
Comments and their moderation are in ``bulletins.comments``.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from bulletins import scheduling
from bulletins.models import Bulletin, Item
from bulletins.rendering import personalise, preview_merge_values, render_variant
from bulletins.sanitise import is_safe_url
from crm.audit import Actor, record_audit
from crm.validators import has_control_characters
from segments.models import Activity, Event, Segment
from segments.rules import parse_rules
from segments.selectors import segments_visible_to
from segments.services import check_equality_use

EDITABLE = {Bulletin.Status.DRAFT, Bulletin.Status.APPROVED, Bulletin.Status.SCHEDULED}
MAX_BODY = 20_000
TEST_PREFIX = "[TEST] "


def _lock(bulletin: Bulletin) -> Bulletin:
    return Bulletin.objects.select_for_update().get(pk=bulletin.pk)


def _refuse_unless_editable(bulletin: Bulletin) -> None:
    if bulletin.status not in EDITABLE:
        raise ValidationError(f"This bulletin is {bulletin.get_status_display().lower()}: it can no longer be changed.",
                              code="not_editable")


def _new_version(bulletin: Bulletin, actor: Actor) -> None:
    """Content changed: next version, approval and any schedule withdrawn, the editor recorded."""
    bulletin.version += 1
    bulletin.approved_version = bulletin.approved_by = bulletin.approved_at = None
    bulletin.scheduled_for = None
    bulletin.segment_rules = None  # the next approval takes a fresh copy of the segment's rules
    bulletin.status = Bulletin.Status.DRAFT
    bulletin.save(update_fields=["version", "approved_version", "approved_by", "approved_at", "scheduled_for",
                                 "segment_rules", "status", "updated_at"])
    if actor.user is not None:
        bulletin.editors.add(actor.user)


def _clean_header_text(field: str, value: str, label: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"Enter the {label}"})
    if has_control_characters(value):
        raise ValidationError({field: f"The {label} must be on one line, with no tabs or hidden characters"})
    if len(value) > 200:
        raise ValidationError({field: f"The {label} must be 200 characters or fewer"})
    return value


def _bulletin_fields(subject, preheader, introduction, audience) -> dict:
    if audience not in Bulletin.Audience.values:
        raise ValidationError({"audience": "Choose who the bulletin goes to"})
    return {
        "subject": _clean_header_text("subject", subject, "subject", required=True),
        "preheader": _clean_header_text("preheader", preheader, "preview text", required=False),
        "introduction": (introduction or "").strip(),
        "audience": audience,
    }


def _checked_segment(segment: Segment | None, actor: Actor, *, required: bool) -> Segment | None:
    """Only a segment the person may see (protected-characteristic ones need the equality permission)."""
    if segment is None:
        if required:
            raise ValidationError({"segment": "Choose the segment to invite"})
        return None
    if actor.user is None or not segments_visible_to(actor.user).filter(pk=segment.pk).exists():
        raise ValidationError({"segment": "Choose a segment from the list"})
    return segment


def create_bulletin(*, subject: str, preheader: str = "", introduction: str = "",
                    audience: str = Bulletin.Audience.TOPICS, segment: Segment | None = None,
                    kind: str = Bulletin.Kind.BULLETIN, event: Event | None = None, activity: Activity | None = None,
                    actor: Actor) -> Bulletin:
    """A new draft. An event invitation names its event and a segment; a bulletin may name a segment."""
    if kind not in Bulletin.Kind.values:
        raise ValidationError({"kind": "Choose what kind of email this is"})
    if (kind == Bulletin.Kind.EVENT_INVITATION) != (event is not None):
        raise ValidationError({"event": "An invitation needs its event, and only an invitation has one"})
    if (kind == Bulletin.Kind.ACTIVITY_FEEDBACK) != (activity is not None):
        raise ValidationError({"activity": "Feedback needs its activity, and only feedback has one"})
    if activity is not None and activity.status != Activity.Status.COMPLETED:
        raise ValidationError({"activity": "Feedback can be sent only from a completed activity"})
    if kind == Bulletin.Kind.ACTIVITY_FEEDBACK and segment is not None:
        raise ValidationError({"segment": "Feedback goes to the activity's participants: choose no segment"})
    fields = _bulletin_fields(subject, preheader, introduction, audience)
    fields["segment"] = _checked_segment(segment, actor, required=kind == Bulletin.Kind.EVENT_INVITATION)
    with transaction.atomic():
        bulletin = Bulletin.objects.create(created_by=actor.user, kind=kind, event=event, activity=activity, **fields)
        bulletin.editors.add(actor.user)
        record_audit(actor=actor, action="bulletin.created", obj=bulletin,
                     changes={"version": 1, "kind": kind, "segment": fields["segment"] and fields["segment"].pk,
                              "event": event and event.pk, "activity": activity and activity.pk})
    return bulletin


_UNCHANGED = object()


def update_bulletin(*, bulletin: Bulletin, subject: str, preheader: str, introduction: str, audience: str,
                    segment=_UNCHANGED, actor: Actor) -> Bulletin:
    fields = _bulletin_fields(subject, preheader, introduction, audience)
    with transaction.atomic():
        locked = _lock(bulletin)
        _refuse_unless_editable(locked)
        if segment is not _UNCHANGED and segment != locked.segment:
            fields["segment"] = _checked_segment(segment, actor,
                                                 required=locked.kind == Bulletin.Kind.EVENT_INVITATION)
        changed = [name for name, value in fields.items() if getattr(locked, name) != value]
        if not changed:
            return locked
        for name in changed:
            setattr(locked, name, fields[name])
        locked.save(update_fields=[*changed, "updated_at"])
        _new_version(locked, actor)
        record_audit(actor=actor, action="bulletin.edited", obj=locked,
                     changes={"fields": changed, "version": locked.version})
    return locked


# --- items ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemContent:
    title: str
    body_markdown: str
    topic: object
    image_url: str = ""
    image_alt: str = ""
    comments_enabled: bool = False

    def cleaned(self) -> dict:
        title = _clean_header_text("title", self.title, "title", required=True)
        body = (self.body_markdown or "").strip()
        if not body:
            raise ValidationError({"body_markdown": "Enter the text of the item"})
        if len(body) > MAX_BODY:
            raise ValidationError({"body_markdown": f"The text must be {MAX_BODY:,} characters or fewer"})
        image_url, image_alt = (self.image_url or "").strip(), (self.image_alt or "").strip()
        if image_url and (not image_url.lower().startswith("https://") or not is_safe_url(image_url)):
            raise ValidationError({"image_url": "The image address must start with https://"})
        if image_url and not image_alt:
            raise ValidationError({"image_alt": "Describe the image for people who cannot see it"})
        if has_control_characters(image_alt) or len(image_alt) > 200:
            raise ValidationError({"image_alt": "The description must be one line of 200 characters or fewer"})
        if self.topic is None:
            raise ValidationError({"topic": "Choose the topic of the item"})
        return {"title": title, "body_markdown": body, "topic": self.topic, "image_url": image_url,
                "image_alt": image_alt if image_url else "", "comments_enabled": bool(self.comments_enabled)}


def add_item(*, bulletin: Bulletin, content: ItemContent, actor: Actor) -> Item:
    fields = content.cleaned()
    with transaction.atomic():
        locked = _lock(bulletin)
        _refuse_unless_editable(locked)
        last = locked.items.aggregate(last=Max("position"))["last"] or 0
        item = Item.objects.create(bulletin=locked, position=last + 1, **fields)
        _new_version(locked, actor)
        record_audit(actor=actor, action="bulletin.item_added", obj=locked,
                     changes={"item": item.pk, "version": locked.version})
    return item


def update_item(*, item: Item, content: ItemContent, actor: Actor) -> Item:
    fields = content.cleaned()
    with transaction.atomic():
        locked = _lock(item.bulletin)
        _refuse_unless_editable(locked)
        item = Item.objects.get(pk=item.pk, bulletin=locked)
        changed = [name for name, value in fields.items() if getattr(item, name) != value]
        if not changed:
            return item
        for name in changed:
            setattr(item, name, fields[name])
        item.save(update_fields=changed)
        _new_version(locked, actor)
        record_audit(actor=actor, action="bulletin.item_edited", obj=locked,
                     changes={"item": item.pk, "fields": changed, "version": locked.version})
    return item


def remove_item(*, item: Item, actor: Actor) -> None:
    with transaction.atomic():
        locked = _lock(item.bulletin)
        _refuse_unless_editable(locked)
        if item.comments.exists():
            raise ValidationError("People have commented on this item, so it cannot be removed.")
        item_id = item.pk
        Item.objects.filter(pk=item_id, bulletin=locked).delete()
        _new_version(locked, actor)
        record_audit(actor=actor, action="bulletin.item_removed", obj=locked,
                     changes={"item": item_id, "version": locked.version})


def move_item(*, item: Item, direction: str, actor: Actor) -> None:
    """Swap the item with its neighbour above ("up") or below ("down")."""
    if direction not in ("up", "down"):
        raise ValidationError("Choose up or down")
    with transaction.atomic():
        locked = _lock(item.bulletin)
        _refuse_unless_editable(locked)
        item = Item.objects.get(pk=item.pk, bulletin=locked)
        siblings = locked.items.filter(position__lt=item.position).order_by("-position") if direction == "up" \
            else locked.items.filter(position__gt=item.position).order_by("position")
        neighbour = siblings.first()
        if neighbour is None:
            return
        mine, theirs = item.position, neighbour.position
        # Through a free position: the unique (bulletin, position) constraint holds at every step.
        item.position = -1
        item.save(update_fields=["position"])
        neighbour.position = mine
        neighbour.save(update_fields=["position"])
        item.position = theirs
        item.save(update_fields=["position"])
        _new_version(locked, actor)
        record_audit(actor=actor, action="bulletin.item_moved", obj=locked,
                     changes={"item": item.pk, "direction": direction, "version": locked.version})


# --- approval, schedule, send -----------------------------------------------------------------

def _require(actor: Actor, permission: str, message: str) -> None:
    if actor.user is None or not actor.user.has_perm(permission):
        raise PermissionDenied(message)


def approve_bulletin(*, bulletin: Bulletin, version: int, actor: Actor) -> Bulletin:
    """A second Communications user approves exactly ``version`` (the one they read)."""
    _require(actor, "bulletins.approve_bulletin", "You do not have permission to approve bulletins.")
    with transaction.atomic():
        locked = _lock(bulletin)
        if locked.status != Bulletin.Status.DRAFT:
            raise ValidationError(f"This bulletin is {locked.get_status_display().lower()}: only a draft can be approved.")
        if locked.version != version:
            raise ValidationError("The bulletin changed while you were reading it. Read the new version, then approve it.",
                                  code="stale_version")
        if locked.created_by_id == actor.user.pk or locked.editors.filter(pk=actor.user.pk).exists():
            raise ValidationError("You wrote or edited this bulletin, so someone else must approve it.",
                                  code="own_bulletin")
        if locked.needs_items and not locked.items.exists():
            raise ValidationError("Add at least one item before approving the bulletin.")
        if not locked.needs_items and not locked.introduction:
            raise ValidationError("Write the introduction before approving: it is the body of the email.")
        if locked.segment_id:
            # The approver reads the audience: protected-characteristic rules need their permission too.
            # The copy taken now is what the count and the send use from here on.
            segment = Segment.objects.select_for_update().get(pk=locked.segment_id)
            try:
                check_equality_use(actor=actor, rules=parse_rules(segment.rules))
            except PermissionDenied as refused:
                raise ValidationError(str(refused), code="equality_permission") from refused
            locked.segment_rules = segment.rules
        locked.status = Bulletin.Status.APPROVED
        locked.approved_version, locked.approved_by, locked.approved_at = version, actor.user, timezone.now()
        locked.save(update_fields=["status", "approved_version", "approved_by", "approved_at", "segment_rules",
                                   "updated_at"])
        record_audit(actor=actor, action="bulletin.approved", obj=locked,
                     changes={"version": version, **({"segment": locked.segment_id} if locked.segment_id else {})})
    return locked


def _refuse_unless_approved(bulletin: Bulletin) -> None:
    if bulletin.approved_version != bulletin.version or bulletin.status not in (
            Bulletin.Status.APPROVED, Bulletin.Status.SCHEDULED):
        raise ValidationError("The bulletin needs approval of its current version first.", code="not_approved")


def schedule_bulletin(*, bulletin: Bulletin, send_at_local: datetime, actor: Actor,
                      now: datetime | None = None) -> scheduling.ScheduledTime:
    """Schedule the approved version for a Europe/London wall time (stored in UTC)."""
    _require(actor, "bulletins.send_bulletin", "You do not have permission to send bulletins.")
    scheduled = scheduling.london_to_utc(send_at_local)
    if scheduled.utc <= (now or timezone.now()):
        raise ValidationError({"send_at": "Choose a time in the future"})
    with transaction.atomic():
        locked = _lock(bulletin)
        _refuse_unless_approved(locked)
        locked.status, locked.scheduled_for = Bulletin.Status.SCHEDULED, scheduled.utc
        locked.save(update_fields=["status", "scheduled_for", "updated_at"])
        record_audit(actor=actor, action="bulletin.scheduled", obj=locked,
                     changes={"version": locked.version, "scheduled_for": scheduled.utc.isoformat(),
                              "ambiguous_local_time": scheduled.ambiguous})
    return scheduled


def unschedule_bulletin(*, bulletin: Bulletin, actor: Actor) -> Bulletin:
    _require(actor, "bulletins.send_bulletin", "You do not have permission to send bulletins.")
    with transaction.atomic():
        locked = _lock(bulletin)
        if locked.status != Bulletin.Status.SCHEDULED:
            raise ValidationError("This bulletin is not scheduled.")
        locked.status, locked.scheduled_for = Bulletin.Status.APPROVED, None
        locked.save(update_fields=["status", "scheduled_for", "updated_at"])
        record_audit(actor=actor, action="bulletin.unscheduled", obj=locked, changes={"version": locked.version})
    return locked


def send_bulletin_now(*, bulletin: Bulletin, actor: Actor) -> int:
    """Start the send of the approved version; returns how many people it is going to."""
    from bulletins import sending  # the pipeline package (B1) imports rendering, which is below us

    _require(actor, "bulletins.send_bulletin", "You do not have permission to send bulletins.")
    with transaction.atomic():
        locked = _lock(bulletin)
        _refuse_unless_approved(locked)
        try:
            return sending.start_send(bulletin=locked, actor=actor)
        except sending.SendRefused as refused:
            raise ValidationError(str(refused), code="send_refused") from refused


# --- test sends -------------------------------------------------------------------------------

def test_recipients():
    """Who a test may go to: active staff accounts in a role, with an address."""
    return (get_user_model().objects.filter(is_active=True, groups__isnull=False).exclude(email="")
            .distinct().order_by("first_name", "last_name", "username"))


def send_test(*, bulletin: Bulletin, recipients, actor: Actor, matching_item_ids: frozenset[int] = frozenset()) -> int:
    """Email the bulletin as it stands to named staff accounts, subject marked [TEST].

    Only active staff accounts' own addresses: a test can never reach a member of the public.
    Links in a test lead to public pages and act for nobody.
    """
    _require(actor, "bulletins.change_bulletin", "You do not have permission to send test bulletins.")
    wanted = {user.pk for user in recipients}
    allowed = test_recipients().filter(pk__in=wanted)
    if not wanted or allowed.count() != len(wanted):
        raise ValidationError({"recipients": "Choose one or more members of staff with an email address"})
    addresses = sorted(set(allowed.values_list("email", flat=True)))
    variant = render_variant(bulletin=bulletin, matching_item_ids=matching_item_ids)
    merge = preview_merge_values(bulletin)
    messages = []
    for address in addresses:
        message = EmailMultiAlternatives(TEST_PREFIX + variant.subject, personalise(variant.text, merge),
                                         settings.DEFAULT_FROM_EMAIL, [address])
        message.attach_alternative(personalise(variant.html, merge, html=True), "text/html")
        messages.append(message)
    with get_connection() as connection:
        connection.send_messages(messages)
    record_audit(actor=actor, action="bulletin.test_sent", obj=bulletin,
                 changes={"version": bulletin.version, "recipients": len(addresses)})
    return len(addresses)
