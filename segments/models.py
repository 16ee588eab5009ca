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

    # No single-column indexes: invitation_unique (event, contact) and invitation_contact_idx
    # (contact, event) lead with each, and an export writes 100,000 rows through every index.
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="invitations", db_index=False)
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="event_invitations",
                                db_index=False)
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


# --- engagement activity records (issue 10) ----------------------------------------------------

class Programme(models.Model):
    """A commissioning programme an activity belongs to ("Mental health"). Managed in Django admin."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive programmes are not offered for new activities.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


# The nine protected characteristics of the Equality Act 2010 (s4), plus carers, which NHS equality
# analyses routinely consider. An activity records which of them it expected to be affected.
EXPECTED_AFFECTED_GROUPS = (
    ("age", "Age"),
    ("disability", "Disability"),
    ("gender_reassignment", "Gender reassignment"),
    ("marriage_civil_partnership", "Marriage and civil partnership"),
    ("pregnancy_maternity", "Pregnancy and maternity"),
    ("race", "Race (including ethnic group)"),
    ("religion_belief", "Religion or belief"),
    ("sex", "Sex"),
    ("sexual_orientation", "Sexual orientation"),
    ("carers", "Carers"),
)


class Activity(models.Model):
    """One engagement activity: what, why (legal basis), who leads, what was heard, what changed."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        ENGAGEMENT = "engagement", "Engagement exercise"
        SURVEY = "survey", "Survey"
        FOCUS_GROUP = "focus_group", "Focus group"
        BIG_CHAT = "big_chat", "Big Chat"
        CO_PRODUCTION = "co_production", "Co-production group"
        PPG_MEETING = "ppg_meeting", "Patient participation group meeting"

    class LegalBasis(models.TextChoices):
        # NHS Act 2006 s14Z45 (ICBs; s242 for trusts): involve the public in planning, proposals for
        # change and decisions that affect services. A substantial variation or development also
        # needs consultation of the council's health scrutiny committee (s244 and the 2013 Local
        # Authority (Public Health, Health and Wellbeing Boards and Health Scrutiny) Regulations) —
        # and always the duty to involve as well, so "substantial variation" alone is not a choice.
        DUTY_TO_INVOLVE = "duty_to_involve", "Duty to involve (NHS Act 2006, section 14Z45)"
        SUBSTANTIAL_VARIATION = "substantial_variation", (
            "Duty to involve and substantial variation (sections 14Z45 and 244: health scrutiny consulted)")
        NONE = "none", "No statutory duty: good-practice engagement"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True, help_text="What the activity is about, in a few sentences.")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="activities")
    topics = models.ManyToManyField("crm.Topic", blank=True, related_name="+")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="activities_led")
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="activities_followed")
    localities = models.ManyToManyField("crm.Locality", blank=True, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    legal_basis = models.CharField(max_length=30, choices=LegalBasis.choices, default=LegalBasis.DUTY_TO_INVOLVE)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True, help_text="Set when completed; cleared on reopening.")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    equality_analysis_done = models.BooleanField(default=False)
    equality_analysis_on = models.DateField(null=True, blank=True)
    equality_analysis_reference = models.CharField(max_length=200, blank=True,
                                                   help_text="Where the equality analysis is kept.")
    groups_expected_affected = models.JSONField(
        default=list, blank=True, help_text="Codes from EXPECTED_AFFECTED_GROUPS (validated by segments.activities).")
    events = models.ManyToManyField(Event, blank=True, related_name="activities")
    themes_heard = models.TextField(blank=True)
    you_said = models.TextField(blank=True)
    we_did = models.TextField(blank=True)
    feedback_published_on = models.DateField(null=True, blank=True)
    feedback_sent_at = models.DateTimeField(null=True, blank=True, help_text="Last feedback email to participants.")
    feedback_sent_count = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "activities"
        permissions = [
            ("change_any_activity", "Can edit any activity, not only the ones they lead"),
            ("view_activity_reports", "Can view engagement activity reports"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(equality_analysis_done=False, equality_analysis_on__isnull=True)
                | Q(equality_analysis_done=True, equality_analysis_on__isnull=False),
                name="activity_equality_analysis_dated"),
            models.CheckConstraint(
                condition=Q(status="completed", completed_on__isnull=False) | (
                    ~Q(status="completed") & Q(completed_on__isnull=True)),
                name="activity_completed_dated"),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "in_progress", "completed"]), name="activity_status_known"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="activity_ends_after_start"),
            models.CheckConstraint(
                condition=Q(feedback_sent_at__isnull=True, feedback_sent_count__isnull=True)
                | Q(feedback_sent_at__isnull=False, feedback_sent_count__isnull=False),
                name="activity_feedback_sent_counted"),
        ]
        indexes = [models.Index(fields=["status", "programme"], name="activity_status_idx")]

    def __str__(self):
        return self.title


class ActivityParticipant(models.Model):
    """A named person who took part without a linked event (e.g. a survey respondent who gave their details)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="participants")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="activity_participations")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "contact"], name="activity_participant_unique")]
        indexes = [models.Index(fields=["contact", "activity"], name="activity_part_contact_idx")]

    def __str__(self):
        return f"Participant {self.pk}"


class ActivityHeadcount(models.Model):
    """Anonymous people who took part ("34 at the drop-in at the shopping centre"), optionally with a breakdown
    of their equality answers: {characteristic: {category code: count}} over crm.EqualityProfile's
    fields and categories (validated by segments.activities)."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="headcounts")
    locality = models.ForeignKey("crm.Locality", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    equality_breakdown = models.JSONField(default=dict, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [models.CheckConstraint(condition=Q(count__gte=1), name="activity_headcount_positive")]

    def __str__(self):
        return self.label
