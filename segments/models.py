"""Saved audiences (segments), engagement events with invitations and attendance, invitation exports.

A segment's rules are validated JSON (``segments.rules``) compiled to one SQL query over contacts;
invitations and exports are per-person records that go with the person on erasure.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Segment(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    rules = models.JSONField(help_text="Validated by segments.rules (schema version in rules['version']).")
    uses_equality = models.BooleanField(
        default=False, help_text="Has a protected-characteristic rule: only staff with the equality permission.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("export_segment", "Can export an invitation list from a segment")]

    def __str__(self):
        return self.name


class Event(models.Model):
    class Kind(models.TextChoices):
        BIG_CHAT = "big_chat", "Big Chat"
        MINI_CHAT = "mini_chat", "Mini Chat"
        AGM = "agm", "Annual general meeting"
        FOCUS_GROUP = "focus_group", "Focus group"
        DROP_IN = "drop_in", "Drop-in"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BIG_CHAT)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    starts_at = models.DateTimeField(help_text="Stored in UTC, entered and shown in Europe/London.")
    ends_at = models.DateTimeField()
    venue_name = models.CharField(max_length=200, blank=True)
    venue_address = models.CharField(max_length=300, blank=True)
    step_free = models.BooleanField(default=False, help_text="Step-free access to the room")
    hearing_loop = models.BooleanField(default=False)
    bsl_interpreter = models.BooleanField(default=False, help_text="A BSL interpreter is booked")
    accessibility_notes = models.TextField(blank=True)
    online_link = models.URLField(blank=True)
    locality = models.ForeignKey("crm.Locality", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    topics = models.ManyToManyField("crm.Topic", blank=True, related_name="+")
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_start")]

    def __str__(self):
        return self.title


class Invitation(models.Model):
    """One person and one event: invited, their answer, and whether they came."""

    class Response(models.TextChoices):
        NONE = "", "No answer yet"
        YES = "yes", "Coming"
        NO = "no", "Not coming"
        MAYBE = "maybe", "Maybe"

    class Source(models.TextChoices):
        EXPORT = "export", "Invitation list export"
        EMAIL = "email", "Emailed invitation"
        WALK_IN = "walk_in", "Came without an invitation"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="event_invitations")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.EXPORT)
    export = models.ForeignKey("InvitationExport", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(null=True, blank=True)
    response = models.CharField(max_length=10, choices=Response.choices, blank=True, default="")
    waiting_list = models.BooleanField(default=False, help_text="Said yes when the event was full.")
    access_needs = models.CharField(max_length=500, blank=True, help_text="'I need…', in the person's words.")
    responded_at = models.DateTimeField(null=True, blank=True)
    attended = models.BooleanField(default=False)
    attendance_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "contact"], name="invitation_unique")]
        indexes = [
            models.Index(fields=["contact", "event"], name="invitation_contact_idx"),
            models.Index(fields=["event", "response", "waiting_list"], name="invitation_rsvp_idx"),
        ]

    def __str__(self):
        return f"Invitation {self.pk}"


class InvitationExport(models.Model):
    """A record of one downloaded invitation list: who, when, why, what, and the file's checksum."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    segment = models.ForeignKey(Segment, null=True, on_delete=models.SET_NULL, related_name="exports")
    segment_name = models.CharField(max_length=120)
    rules_snapshot = models.JSONField(help_text="The segment's rules at the moment of export.")
    event = models.ForeignKey(Event, null=True, on_delete=models.SET_NULL, related_name="exports")
    stated_purpose = models.CharField(max_length=200, help_text="e.g. 'Big Chat, Central Library, 12 March'.")
    columns = models.JSONField(default=list)
    file_format = models.CharField(max_length=5, choices=Format.choices)
    row_count = models.PositiveIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    file_name = models.CharField(max_length=200, blank=True, help_text="Inside EXPORTS_DIR; deleted at expiry.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    file_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at", "file_deleted_at"], name="export_expiry_idx")]

    def __str__(self):
        return f"Export {self.pk}"


class ContactImport(models.Model):
    """One file of paper sign-ups (or a partner's list): its consent evidence, preview and outcome.

    Holds no personal data: counts and, for rejected rows, line numbers and reasons only. The
    uploaded file waits on disk between preview and confirmation, and is deleted after either.
    """

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "Checked, waiting for confirmation"
        IMPORTED = "imported", "Imported"
        CANCELLED = "cancelled", "Cancelled"

    class Method(models.TextChoices):
        PAPER_FORM = "paper_form", "Paper form at an event"
        EVENT = "event", "In person at an event"
        PHONE = "phone", "Phone"
        IMPORT = "import", "A partner's list, with their evidence"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    file_name = models.CharField(max_length=200, help_text="As uploaded (shown to staff).")
    stored_name = models.CharField(max_length=80, blank=True, help_text="Inside VAR_DIR/imports until done.")
    sha256 = models.CharField(max_length=64, db_index=True)
    method = models.CharField(max_length=20, choices=Method.choices)
    statement_versions = models.JSONField(default=dict, help_text="purpose code → wording version people saw.")
    collected_on = models.DateField()
    collected_by = models.CharField(max_length=150)
    evidence_reference = models.CharField(max_length=200, help_text="Where the paper originals are kept.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PREVIEWED)
    counts = models.JSONField(default=dict)
    rejected = models.JSONField(default=list, help_text="[[line, reason], …]: no personal data.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("import_contacts", "Can import contacts from a file")]

    def __str__(self):
        return f"Import {self.pk}"
