"""The consent ledger: purposes, versioned wording, append-only events, derived state, suppressions.

Database triggers (see migrations) make ``ConsentEvent`` append-only and published statements
immutable on both SQLite and PostgreSQL. Erasure of a person is the one permitted delete: the
erasure service writes an ``ErasurePermit`` row for the contact inside its transaction, and the
trigger lets that contact's events go.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.models import Contact
from crm.normalise import current_pepper_key_id


class Purpose(models.Model):
    class Code(models.TextChoices):
        BULLETIN = "bulletin", "E-bulletin"
        EVENTS = "events", "Big Chat and Mini Chat invitations"
        INVOLVEMENT = "involvement", "Surveys, consultations and panels"
        EQUALITY_MONITORING = "equality_monitoring", "Equality monitoring (anonymous statistics)"
        EQUALITY_TARGETING = "equality_targeting", "Invitations because of a protected characteristic"

    class LawfulBasis(models.TextChoices):
        CONSENT = "consent", "Consent (UK GDPR 6(1)(a))"
        EXPLICIT_CONSENT = "explicit_consent", "Explicit consent (UK GDPR 6(1)(a) and 9(2)(a))"
        PUBLIC_TASK = "public_task", "Public task (UK GDPR 6(1)(e))"

    code = models.CharField(max_length=30, choices=Code.choices, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    lawful_basis = models.CharField(max_length=30, choices=LawfulBasis.choices, default=LawfulBasis.CONSENT)
    is_equality = models.BooleanField(default=False, help_text="Asked on the separate 'about you' step.")
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "code"]

    def __str__(self):
        return self.name


class ConsentStatement(models.Model):
    """The exact wording shown for a purpose. Immutable once published (enforced by a trigger)."""

    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="statements")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["purpose", "-version"]
        constraints = [models.UniqueConstraint(fields=["purpose", "version"], name="statement_version_unique")]
        permissions = [("publish_consentstatement", "Can publish consent statements")]

    def __str__(self):
        return f"{self.purpose.code} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ConsentEvent(models.Model):
    """One fact in the append-only consent ledger."""

    class Action(models.TextChoices):
        GIVEN = "given", "Given (awaiting confirmation)"
        CONFIRMED = "confirmed", "Given and confirmed"
        WITHDRAWN = "withdrawn", "Withdrawn"
        # Staff changed the person's address: consent given at the old one waits for the new one to
        # be confirmed (never a grant, never lifts or adds a suppression).
        NEW_ADDRESS = "new_address", "Address changed: awaiting confirmation from the new address"

    class Method(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        API = "api", "Public API"
        PAPER_FORM = "paper_form", "Paper form at an event"
        PHONE = "phone", "Phone"
        EVENT = "event", "In person at an event"
        IMPORT = "import", "Import"
        EMAIL_CONFIRMATION = "email_confirmation", "Email confirmation link"
        ONE_CLICK_UNSUBSCRIBE = "one_click_unsubscribe", "One-click unsubscribe"
        PREFERENCE_CENTRE = "preference_centre", "Preference centre"
        COMPLAINT = "complaint", "Spam complaint"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        STAFF_ON_REQUEST = "staff_on_request", "Staff, at the person's request"
        DEMO = "demo", "Demo data"

    # No single-column index: consent_event_history_idx (contact, purpose, occurred_at) serves it.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_events", db_index=False)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=12, choices=Action.choices)
    statement = models.ForeignKey(ConsentStatement, on_delete=models.PROTECT, related_name="events")
    method = models.CharField(max_length=30, choices=Method.choices)
    # PROTECT, not SET_NULL: nulling the column would be an UPDATE of the ledger. Staff accounts
    # are deactivated, never deleted.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by_label = models.CharField(max_length=150, help_text="Username, 'the person' or 'system'.")
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    evidence_reference = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["contact", "purpose", "occurred_at"], name="consent_event_history_idx")]

    def __str__(self):
        return f"{self.purpose_id}:{self.action} for contact {self.contact_id}"


class ConsentState(models.Model):
    """Current consent per (contact, purpose), derived from the events in the same transaction."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting confirmation"
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    # No single-column indexes: consent_state_unique (contact, purpose) and consent_state_reach_idx
    # (purpose, ...) start with these columns.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consent_states", db_index=False)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+", db_index=False)
    status = models.CharField(max_length=12, choices=Status.choices)
    statement = models.ForeignKey(ConsentStatement, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()
    last_event = models.ForeignKey(ConsentEvent, on_delete=models.CASCADE, related_name="+")
    # An active suppression exists for this contact's address and purpose. Kept by database triggers
    # (consent/db_triggers.py) whoever writes the suppression or the address, never by callers:
    # "reachable" is status granted AND NOT suppressed, one range of consent_state_reach_idx.
    suppressed = models.BooleanField(default=False, db_default=False, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "purpose"], name="consent_state_unique")]
        indexes = [
            models.Index(fields=["purpose", "status", "suppressed", "contact"], name="consent_state_reach_idx"),
        ]

    def __str__(self):
        return f"{self.purpose_id}:{self.status} for contact {self.contact_id}"


class Suppression(models.Model):
    """A hashed, normalised address never to be emailed again for a purpose. Survives erasure."""

    class Reason(models.TextChoices):
        WITHDRAWAL = "withdrawal", "Consent withdrawn"
        COMPLAINT = "complaint", "Spam complaint"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        ERASURE = "erasure", "Erased at the person's request"

    address_hash = models.CharField(max_length=64)
    # Which pepper (SUPPRESSION_PEPPERS key id) made address_hash: lookups try every configured pepper,
    # and rotate_suppression_pepper says how many rows still need an old one.
    key_id = models.CharField(max_length=16, default=current_pepper_key_id, db_default="", blank=True)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True, help_text="Only by the person's own confirmed sign-up.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["address_hash", "purpose"], condition=Q(lifted_at__isnull=True), name="suppression_active_unique"
            )
        ]
        indexes = [models.Index(fields=["address_hash", "purpose"], name="suppression_lookup_idx")]

    def __str__(self):
        return f"{self.purpose_id}:{self.reason}"


class ErasurePermit(models.Model):
    """Written and removed inside the erasure transaction; lets the ledger trigger allow the delete."""

    contact_id = models.BigIntegerField(unique=True)

    def __str__(self):
        return f"Erasure permit for contact {self.contact_id}"


class SubjectAccessRequest(models.Model):
    """A case: a person asks for a copy of everything held about them (UK GDPR Art. 15)."""

    class Status(models.TextChoices):
        AWAITING_ID = "awaiting_id", "Waiting for identity check"
        AWAITING_CLARIFICATION = "awaiting_clarification", "Waiting for clarification"
        IN_PROGRESS = "in_progress", "In progress"
        CLOSED = "closed", "Closed"

    reference = models.CharField(max_length=20, unique=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requester_description = models.CharField(
        max_length=200, blank=True, help_text="How the request arrived (no personal details needed here)."
    )
    received_on = models.DateField()
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.AWAITING_ID)
    identity_checked_on = models.DateField(null=True, blank=True)
    clock_stopped_on = models.DateField(null=True, blank=True, help_text="Set while waiting for ID or clarification.")
    days_paused = models.PositiveIntegerField(default=0)
    closed_on = models.DateField(null=True, blank=True)
    outcome = models.TextField(blank=True, help_text="What was sent, how, and when.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "received_on"]

    def __str__(self):
        return self.reference


class ErasureRequest(models.Model):
    """A case: a person asks to be erased (UK GDPR Art. 17). The contact link is cut on completion."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        REFUSED = "refused", "Refused"

    reference = models.CharField(max_length=20, unique=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    received_on = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    completed_on = models.DateField(null=True, blank=True)
    erased_contact_ref = models.CharField(max_length=64, blank=True, help_text="Internal id only, never personal data.")
    notes = models.TextField(blank=True, help_text="No personal data: this record outlives the person.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "received_on"]

    def __str__(self):
        return self.reference


# Connects the post_migrate handler that puts back SQLite triggers lost to a table rebuild.
from consent import db_triggers  # noqa: E402, F401
