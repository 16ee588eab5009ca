"""The people: contacts, organisations, topics, localities, equality answers, staff tokens, audit."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class Locality(models.Model):
    """A GP locality (from the organisation file); postcode districts map onto it."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "localities"

    def __str__(self):
        return self.name


class PostcodeDistrict(models.Model):
    """Outward code (e.g. ``L20``) to locality."""

    code = models.CharField(max_length=4, unique=True)
    locality = models.ForeignKey(Locality, on_delete=models.CASCADE, related_name="postcode_districts")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} → {self.locality}"


class Topic(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Organisation(models.Model):
    class Kind(models.TextChoices):
        GP_PRACTICE = "gp_practice", "GP practice"
        VOLUNTARY = "voluntary", "Voluntary, community or faith sector"
        NHS_TRUST = "nhs_trust", "NHS trust"
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        HEALTHWATCH = "healthwatch", "Healthwatch"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.OTHER)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="organisation_name_ci_unique")]

    def __str__(self):
        return self.name


class Contact(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Member of the public"
        CARER = "carer", "Carer"
        PATIENT_REP = "patient_rep", "Patient representative"
        PARTNER = "partner", "Partner organisation"
        PRACTICE_STAFF = "practice_staff", "Staff of a member practice"

    class Source(models.TextChoices):
        WEB = "web", "Web sign-up"
        API = "api", "Public API"
        PAPER = "paper", "Paper form"
        PHONE = "phone", "Phone"
        EVENT = "event", "Event"
        IMPORT = "import", "Import"
        STAFF = "staff", "Staff entry"
        DEMO = "demo", "Demo data"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.CharField(max_length=254, help_text="As typed, for display.")
    email_normalised = models.CharField(max_length=254, unique=True)
    # Indexed in Meta.indexes, not with db_index: on PostgreSQL db_index also builds a LIKE
    # (varchar_pattern_ops) index, 119 MB at a million contacts, and a hash is never LIKE-searched.
    email_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    postcode = models.CharField(max_length=8, blank=True)
    locality = models.ForeignKey(Locality, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PUBLIC)
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL)
    preferred_language = models.CharField(max_length=60, blank=True, default="English")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.WEB)
    topics = models.ManyToManyField(Topic, blank=True, related_name="contacts")
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person proved the address (double opt-in) or staff recorded evidence."
    )
    # Part of every personal link's signature (consent.tokens): adding one kills every link sent
    # before, for good. Raised by erasure, an address change and "sign me out of all links".
    link_epoch = models.PositiveIntegerField(default=0, editable=False)
    # Part of the fresh "see or delete my data" link's signature: using that link adds one, so each
    # such link works once (and every other one sent before it dies with it).
    data_link_counter = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["name"], name="contact_name_idx"),
            # consent.search.NAME_INDEX: a name prefix few contacts match is fetched from here. Without
            # it a whole name scanned every contact (140-340 ms at 1,000,000; 1-3 ms with it).
            models.Index(Lower("name"), name="contact_name_lower_idx"),
            models.Index(fields=["postcode"], name="contact_postcode_idx"),
            models.Index(fields=["email_hash"], name="contact_email_hash_idx"),
            models.Index(fields=["locality", "id"], name="contact_locality_idx"),
            models.Index(fields=["kind", "id"], name="contact_kind_idx"),
            models.Index(fields=["confirmed_at", "created_at"], name="contact_unconfirmed_idx"),
        ]
        permissions = [
            ("merge_contacts", "Can merge two records of one person"),
            ("view_dashboard", "Can see the team dashboard"),
        ]

    def __str__(self):
        return f"Contact {self.pk}"


class CommunicationNeed(models.Model):
    """Accessible Information Standard needs recorded for a contact."""

    class Need(models.TextChoices):
        LARGE_PRINT = "large_print", "Large print"
        EASY_READ = "easy_read", "Easy read"
        BRAILLE = "braille", "Braille"
        BSL = "bsl", "British Sign Language"
        OTHER_LANGUAGE = "other_language", "Another language"
        PLAIN_TEXT_EMAIL = "plain_text_email", "Plain-text email"
        VIA_CARER = "via_carer", "Receives information via a carer or advocate"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="communication_needs")
    need = models.CharField(max_length=30, choices=Need.choices)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "need"], name="communication_need_unique")]
        indexes = [models.Index(fields=["need", "contact"], name="communication_need_idx")]

    def __str__(self):
        return self.get_need_display()


class EqualityProfile(models.Model):
    """Optional 'about you' answers (ONS Census 2021 categories). Special-category data.

    Readable only with the ``crm.view_equality_data`` permission; every read of one person's
    answers is audited.
    """

    PREFER_NOT = ("prefer_not_to_say", "Prefer not to say")

    class AgeBand(models.TextChoices):
        UNDER_16 = "0-15", "Under 16"
        A16_19 = "16-19", "16 to 19"
        A20_29 = "20-29", "20 to 29"
        A30_39 = "30-39", "30 to 39"
        A40_49 = "40-49", "40 to 49"
        A50_59 = "50-59", "50 to 59"
        A60_69 = "60-69", "60 to 69"
        A70_79 = "70-79", "70 to 79"
        A80 = "80+", "80 or over"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class GenderIdentity(models.TextChoices):
        SAME = "same", "Yes, my gender identity is the same as my sex registered at birth"
        DIFFERENT = "different", "No, my gender identity is different"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class EthnicGroup(models.TextChoices):
        # ONS Census 2021: 19 categories in five broad groups (Arab shown within "Other").
        ASIAN_BANGLADESHI = "asian_bangladeshi", "Asian or Asian British: Bangladeshi"
        ASIAN_CHINESE = "asian_chinese", "Asian or Asian British: Chinese"
        ASIAN_INDIAN = "asian_indian", "Asian or Asian British: Indian"
        ASIAN_PAKISTANI = "asian_pakistani", "Asian or Asian British: Pakistani"
        ASIAN_OTHER = "asian_other", "Asian or Asian British: any other Asian background"
        BLACK_AFRICAN = "black_african", "Black, Black British, Caribbean or African: African"
        BLACK_CARIBBEAN = "black_caribbean", "Black, Black British, Caribbean or African: Caribbean"
        BLACK_OTHER = "black_other", "Black, Black British, Caribbean or African: any other background"
        MIXED_WHITE_ASIAN = "mixed_white_asian", "Mixed or multiple: White and Asian"
        MIXED_WHITE_BLACK_AFRICAN = "mixed_white_black_african", "Mixed or multiple: White and Black African"
        MIXED_WHITE_BLACK_CARIBBEAN = "mixed_white_black_caribbean", "Mixed or multiple: White and Black Caribbean"
        MIXED_OTHER = "mixed_other", "Mixed or multiple: any other background"
        WHITE_BRITISH = "white_british", "White: English, Welsh, Scottish, Northern Irish or British"
        WHITE_IRISH = "white_irish", "White: Irish"
        WHITE_GYPSY = "white_gypsy", "White: Gypsy or Irish Traveller"
        WHITE_ROMA = "white_roma", "White: Roma"
        WHITE_OTHER = "white_other", "White: any other White background"
        OTHER_ARAB = "other_arab", "Other ethnic group: Arab"
        OTHER_ANY = "other_any", "Other ethnic group: any other ethnic group"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class Religion(models.TextChoices):
        NONE = "none", "No religion"
        CHRISTIAN = "christian", "Christian"
        BUDDHIST = "buddhist", "Buddhist"
        HINDU = "hindu", "Hindu"
        JEWISH = "jewish", "Jewish"
        MUSLIM = "muslim", "Muslim"
        SIKH = "sikh", "Sikh"
        OTHER = "other", "Any other religion"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class Disability(models.TextChoices):
        YES_A_LOT = "yes_a_lot", "Yes, limited a lot"
        YES_A_LITTLE = "yes_a_little", "Yes, limited a little"
        NO = "no", "No"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class SexualOrientation(models.TextChoices):
        STRAIGHT = "straight", "Straight or heterosexual"
        GAY_LESBIAN = "gay_lesbian", "Gay or lesbian"
        BISEXUAL = "bisexual", "Bisexual"
        OTHER = "other", "Other sexual orientation"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class YesNo(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    class MaritalStatus(models.TextChoices):
        NEVER = "never", "Never married and never registered a civil partnership"
        MARRIED = "married", "Married"
        CIVIL_PARTNERSHIP = "civil_partnership", "In a registered civil partnership"
        SEPARATED = "separated", "Separated, but still legally married or in a civil partnership"
        DIVORCED = "divorced", "Divorced or civil partnership dissolved"
        WIDOWED = "widowed", "Widowed or surviving civil partner"
        PREFER_NOT_TO_SAY = "prefer_not_to_say", "Prefer not to say"

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="equality_profile")
    age_band = models.CharField(max_length=20, choices=AgeBand.choices, blank=True)
    sex = models.CharField(max_length=20, choices=Sex.choices, blank=True)
    gender_identity = models.CharField(max_length=20, choices=GenderIdentity.choices, blank=True)
    ethnic_group = models.CharField(max_length=30, choices=EthnicGroup.choices, blank=True)
    religion = models.CharField(max_length=20, choices=Religion.choices, blank=True)
    disability = models.CharField(max_length=20, choices=Disability.choices, blank=True)
    sexual_orientation = models.CharField(max_length=20, choices=SexualOrientation.choices, blank=True)
    pregnancy_maternity = models.CharField(max_length=20, choices=YesNo.choices, blank=True)
    marital_status = models.CharField(max_length=20, choices=MaritalStatus.choices, blank=True)
    carer = models.CharField(max_length=20, choices=YesNo.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    ANSWER_FIELDS = (
        "age_band", "sex", "gender_identity", "ethnic_group", "religion", "disability",
        "sexual_orientation", "pregnancy_maternity", "marital_status", "carer",
    )

    class Meta:
        permissions = [("view_equality_data", "Can view equality (special-category) answers")]
        indexes = [
            models.Index(fields=["age_band"], name="equality_age_idx"),
            models.Index(fields=["ethnic_group"], name="equality_ethnic_idx"),
        ]

    def __str__(self):
        return f"Equality answers for contact {self.contact_id}"


class StaffApiToken(models.Model):
    """A personal API token for a staff member. Only a SHA-256 of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True, help_text="Shown to identify the token.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class AuditEntry(models.Model):
    """Append-only, hash-chained record of who did what to which object, when and from where.

    ``summary`` and ``changes`` must never hold personal data (names, addresses, postcodes):
    entries outlive erasure of the people they describe.
    """

    created_at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=150, help_text="Username, 'public' or 'system'.")
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"


class AuditHead(models.Model):
    """The hash and id of the newest audit entry, kept in its own single row.

    Each entry names its predecessor, so an edited or removed entry breaks the chain for the entry
    after it — except the newest one, which has no successor. The head row remembers it: deleting
    the last entry (or truncating the table) leaves the head pointing at an entry that is gone.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    entry_id = models.BigIntegerField(null=True, blank=True)
    entry_hash = models.CharField(max_length=64)
    entry_count = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_single_row")]

    def __str__(self):
        return f"Audit chain head: entry {self.entry_id}"


class StaffRoleRequest(models.Model):
    """A change to a powerful role (Administrator, Data protection) waiting for a second Administrator.

    One Administrator asks (``requested_by``); a different Administrator, who is not the person whose
    roles change, approves or declines it (``crm.staff.services``). The database refuses an
    approval by the requester or by the person themselves, and a second pending request for the
    same change.
    """

    class Change(models.TextChoices):
        ADD = "add", "Give the role"
        REMOVE = "remove", "Take the role away"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second Administrator"
        APPROVED = "approved", "Approved"
        DECLINED = "declined", "Declined"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_requests")
    role = models.CharField(max_length=80)
    change = models.CharField(max_length=6, choices=Change.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "change"], condition=models.Q(status="pending"),
                                    name="staff_role_request_one_pending"),
            models.CheckConstraint(
                condition=~models.Q(status="approved")
                | (models.Q(decided_by__isnull=False) & ~models.Q(decided_by=models.F("requested_by"))
                   & ~models.Q(decided_by=models.F("user"))),
                name="staff_role_request_second_person",
            ),
            models.CheckConstraint(condition=~models.Q(requested_by=models.F("user")),
                                   name="staff_role_request_not_for_oneself"),
        ]

    def __str__(self):
        return f"{self.get_change_display()} {self.role} ({self.get_status_display()})"


class PopulationBaseline(models.Model):
    """A census baseline uploaded for another area (the documented CSV, checked by
    ``crm.organisation.read_baseline``). The newest one is the report's baseline; with none, the
    organisation file's is used (``crm.census``). Kept, never edited: a report can say which it used."""

    area_name = models.CharField(max_length=200, help_text="As the file names it, e.g. 'Knowsley (E08000011)'.")
    content = models.TextField(help_text="The CSV as uploaded (UTF-8, without a byte-order mark).")
    sha256 = models.CharField(max_length=64)
    residents = models.PositiveIntegerField(help_text="The sex rows added up: the area's usual residents.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self):
        return self.area_name
