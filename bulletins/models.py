"""Bulletins, items, deliveries and comments live here.

A Delivery row per recipient is the ledger of a send: Huey only rings the bell (DESIGN.md,
"Sending bulletins"). Its status moves pending -> sending (claimed under a lease) -> sent, failed
or skipped; cancelled when staff cancel the send.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Bulletin(models.Model):
    class Kind(models.TextChoices):
        BULLETIN = "bulletin", "Bulletin"
        EVENT_INVITATION = "event_invitation", "Event invitation"
        ACTIVITY_FEEDBACK = "activity_feedback", "You said, we did (feedback to participants)"

    # The consent purposes a kind of email is sent under: the audience, the send-time re-check and
    # the one-click unsubscribe all read them from here, so they can never disagree.
    KIND_PURPOSES = {
        Kind.BULLETIN: ("bulletin",),
        Kind.EVENT_INVITATION: ("events",),
        Kind.ACTIVITY_FEEDBACK: ("events", "involvement"),
    }

    class Audience(models.TextChoices):
        TOPICS = "topics", "People interested in the items' topics"
        EVERYONE = "everyone", "Everyone who receives bulletins"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not sent (every message failed)"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    introduction = models.TextField(blank=True, help_text="Markdown.")
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.TOPICS)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BULLETIN)
    # PROTECT: a segment a bulletin was (or will be) sent to stays, so the record can always say who it
    # went to. Edits to the segment after approval do not reach the send: ``segment_rules`` is the
    # copy taken at approval, and the count and the fan-out use it from then on.
    segment = models.ForeignKey("segments.Segment", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", help_text="Only people in this segment (optional).")
    segment_rules = models.JSONField(null=True, blank=True,
                                     help_text="The segment's rules as approved; cleared by any new version.")
    event = models.ForeignKey("segments.Event", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", help_text="The event an invitation is for.")
    activity = models.ForeignKey("segments.Activity", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="The completed activity a feedback email is about.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    version = models.PositiveIntegerField(default=1, help_text="Goes up by one on every content edit.")
    approved_version = models.PositiveIntegerField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True, help_text="UTC.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    send_finished_at = models.DateTimeField(null=True, blank=True)
    erased_counts = models.JSONField(
        default=dict, blank=True, help_text="Anonymous counts kept when recipients are erased."
    )
    # Everyone who wrote any part of the bulletin (creator and every later editor): none of them
    # may approve it, so a second person always reads what goes out.
    editors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "scheduled_for"], name="bulletin_status_sched_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="event_invitation", event__isnull=False, segment__isnull=False)
                           | (~Q(kind="event_invitation") & Q(event__isnull=True))),
                name="bulletin_invitation_has_event_and_segment"),
            models.CheckConstraint(
                condition=Q(kind="activity_feedback", activity__isnull=False)
                | (~Q(kind="activity_feedback") & Q(activity__isnull=True)),
                name="bulletin_feedback_has_activity"),
        ]
        permissions = [
            ("approve_bulletin", "Can approve a bulletin written by someone else"),
            ("send_bulletin", "Can send, schedule, pause, resume and cancel a bulletin"),
            ("moderate_comment", "Can moderate comments on bulletin items"),
        ]

    def __str__(self):
        return self.subject

    @property
    def purposes(self) -> tuple[str, ...]:
        return self.KIND_PURPOSES[self.kind]

    @property
    def needs_items(self) -> bool:
        """A bulletin is its items; an invitation or feedback is its introduction (and the event's details)."""
        return self.kind == self.Kind.BULLETIN


class Item(models.Model):
    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="items")
    position = models.IntegerField()
    title = models.CharField(max_length=200)
    body_markdown = models.TextField()
    image_url = models.URLField(blank=True)
    image_alt = models.CharField(max_length=200, blank=True)
    topic = models.ForeignKey("crm.Topic", on_delete=models.PROTECT, related_name="+")
    comments_enabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["bulletin", "position"]
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "position"], name="item_position_unique"),
            models.CheckConstraint(
                condition=Q(image_url="") | ~Q(image_alt=""), name="item_image_needs_alt"
            ),
        ]

    def __str__(self):
        return self.title


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"
        CANCELLED = "cancelled", "Cancelled"

    class ProviderStatus(models.TextChoices):
        NONE = "", "No report"
        DELIVERED = "delivered", "Delivered"
        SOFT_BOUNCED = "soft_bounced", "Soft bounce"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Marked as spam"

    # No per-column FK indexes: (bulletin, status, id) and (contact) below cover them, and every
    # extra index slows the fan-out INSERT of 100,000 rows.
    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="bulletin_deliveries", db_index=False
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True, help_text="A sentence, e.g. 'Unsubscribed during the send'.")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)  # indexed only once set (Meta)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_status = models.CharField(
        max_length=20, choices=ProviderStatus.choices, default=ProviderStatus.NONE, blank=True
    )
    provider_status_at = models.DateTimeField(null=True, blank=True)
    soft_bounces = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bulletin", "contact"], name="delivery_once_per_contact")]
        indexes = [
            models.Index(fields=["bulletin", "status", "id"], name="delivery_bulletin_status_idx"),
            models.Index(fields=["status", "lease_expires_at"], name="delivery_lease_idx"),
            models.Index(fields=["contact"], name="delivery_contact_idx"),
            # Partial: the fan-out inserts every row with no provider id, and only sent rows are
            # looked up by one (provider events); callers state the condition so SQLite uses it too.
            models.Index(fields=["provider_message_id"], condition=~models.Q(provider_message_id=""),
                         name="delivery_provider_id_idx"),
        ]

    def __str__(self):
        return f"Delivery {self.pk}"


class Comment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for moderation"
        APPROVED = "approved", "Published"
        REJECTED = "rejected", "Rejected"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="bulletin_comments")
    body = models.TextField(help_text="Plain text, at most 2,000 characters (enforced by the form and service).")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reply = models.TextField(blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="comment_status_idx"),
            models.Index(fields=["item", "status"], name="comment_item_status_idx"),
        ]

    def __str__(self):
        return f"Comment {self.pk}"
