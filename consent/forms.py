"""Forms for the public journeys. Validation only: writes go through consent.services.

The templates render these fields as NHS.UK components (see consent/templates/consent/forms/);
``error_links`` feeds the error summary so each message links to its field.
"""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from consent.selectors import consent_summary, current_statements
from crm.forms import add_service_errors
from crm.models import CommunicationNeed, Contact, EqualityProfile, Topic
from crm.normalise import normalise_email, normalise_postcode
from crm.validators import ControlCharacterValidator

PREFER_NOT_TO_SAY = EqualityProfile.PREFER_NOT[0]


class NhsukForm(forms.Form):
    """A form whose errors can be listed in an NHS.UK error summary, each linking to its input."""

    # Checkbox and radio groups: the summary links to the first option (Django ids it ``<id>_0``).
    CHOICE_WIDGETS = (forms.CheckboxSelectMultiple, forms.RadioSelect)

    def anchor_for(self, name: str) -> str:
        bound = self[name]
        if isinstance(bound.field.widget, self.CHOICE_WIDGETS):
            return f"{bound.auto_id}_0"
        return bound.auto_id

    def error_links(self) -> list[tuple[str, str]]:
        """(anchor, message) pairs in the order the fields appear on the page."""
        links = []
        for name in self.fields:
            links += [(self.anchor_for(name), message) for message in self.errors.get(name, [])]
        first = next(iter(self.fields))
        links += [(self.anchor_for(first), message) for message in self.errors.get(NON_FIELD_ERRORS, [])]
        return links

    def add_service_errors(self, error: ValidationError) -> None:
        add_service_errors(self, error)


class PurposeChoicesMixin:
    """Purpose checkboxes with each purpose's current statement wording as the option hint.

    A hidden ``wording`` field carries the statement versions the person was shown. If the wording
    changed before they submitted, the form asks them to read it again rather than record consent
    to text they never saw.
    """

    purposes_equality = False

    def setup_purposes(self) -> None:
        self.statements = current_statements(equality=self.purposes_equality)
        field = self.fields["purposes"]
        field.choices = [(s.purpose.code, s.purpose.name) for s in self.statements]
        # The version travels in the hidden ``wording`` field; the person reads only the wording.
        field.option_hints = {s.purpose.code: s.text for s in self.statements}
        self.wording_current = " ".join(f"{s.purpose.code}:{s.version}" for s in self.statements)

    def check_wording(self) -> None:
        shown = (self.data.get("wording") or "").strip()
        if shown and shown != self.wording_current:
            self.add_error("purposes", "The wording of these choices has changed since you opened this page. "
                                       "Read it again and choose again.")

    @property
    def offered_purposes(self) -> set[str]:
        return {s.purpose.code for s in self.statements}


def _clean_email_as_typed(value: str) -> str:
    normalise_email(value)  # raises a ValidationError the person can act on
    return value.strip()


def name_field() -> forms.CharField:
    # The name is written into emails ("Hello …"): a line break there could forge headers or text.
    return forms.CharField(max_length=200, validators=[ControlCharacterValidator("Name")], error_messages={
        "required": "Enter your name", "max_length": "Name must be 200 characters or fewer"})


def postcode_field() -> forms.CharField:
    return forms.CharField(max_length=10, required=False, error_messages={
        "max_length": "Enter a real postcode, like L20 3NJ"})


def email_field() -> forms.CharField:
    return forms.CharField(max_length=254, validators=[ControlCharacterValidator("Email address")], error_messages={
        "required": "Enter your email address", "max_length": "Email address must be 254 characters or fewer"})


class SignUpForm(PurposeChoicesMixin, NhsukForm):
    name = name_field()
    email = email_field()
    postcode = postcode_field()
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.filter(is_active=True), to_field_name="slug", required=False,
        widget=forms.CheckboxSelectMultiple, error_messages={"invalid_choice": "Unknown topic: %(value)s"},
    )
    purposes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, error_messages={
        "required": "Choose at least one thing you would like to hear from us about",
        "invalid_choice": "Unknown purpose: %(value)s",
    })

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_purposes()

    def clean_email(self):
        return _clean_email_as_typed(self.cleaned_data["email"])

    def clean_postcode(self):
        return normalise_postcode(self.cleaned_data["postcode"])

    def clean(self):
        cleaned = super().clean()
        self.check_wording()
        return cleaned


class PreferencesLinkForm(NhsukForm):
    """An address to send a link to (preferences, or see or delete my data)."""

    email = email_field()

    def clean_email(self):
        return _clean_email_as_typed(self.cleaned_data["email"])


class ContactDetailsForm(NhsukForm):
    """Name and postcode: shown and changed only behind a fresh data-access link, never a forwarded one."""

    name = name_field()
    postcode = postcode_field()

    def __init__(self, *args, contact: Contact, **kwargs):
        kwargs.setdefault("initial", {"name": contact.name, "postcode": contact.postcode})
        super().__init__(*args, **kwargs)

    def clean_postcode(self):
        return normalise_postcode(self.cleaned_data["postcode"])


class PreferenceCentreForm(PurposeChoicesMixin, NhsukForm):
    """What a link in an email may change: purposes, topics, communication needs, preferred language.

    Links in emails get forwarded, so nothing here shows or changes who the person is (name,
    postcode, answers about them): that needs a fresh data-access link (ContactDetailsForm).
    """

    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.filter(is_active=True), to_field_name="slug", required=False,
        widget=forms.CheckboxSelectMultiple, error_messages={"invalid_choice": "Unknown topic: %(value)s"},
    )
    purposes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False, error_messages={
        "invalid_choice": "Unknown purpose: %(value)s"})
    needs = forms.MultipleChoiceField(
        choices=CommunicationNeed.Need.choices, widget=forms.CheckboxSelectMultiple, required=False,
        error_messages={"invalid_choice": "Select from the list"},
    )
    language_detail = forms.CharField(max_length=200, required=False, validators=[
        ControlCharacterValidator("Language")], error_messages={"max_length": "Language must be 200 characters or fewer"})
    preferred_language = forms.CharField(max_length=60, required=False, validators=[
        ControlCharacterValidator("Preferred language")], error_messages={
        "max_length": "Language must be 60 characters or fewer"})

    def __init__(self, *args, contact: Contact, **kwargs):
        self.contact = contact
        needs = {n.need: n.detail for n in contact.communication_needs.all()}
        summary = consent_summary(contact)
        kwargs.setdefault("initial", {
            "preferred_language": contact.preferred_language,
            "topics": list(contact.topics.filter(is_active=True)),
            "purposes": [code for code, status in summary.items() if status == "granted"],
            "needs": list(needs),
            "language_detail": needs.get(CommunicationNeed.Need.OTHER_LANGUAGE, ""),
        })
        super().__init__(*args, **kwargs)
        self.setup_purposes()

    def clean(self):
        cleaned = super().clean()
        self.check_wording()
        if CommunicationNeed.Need.OTHER_LANGUAGE in cleaned.get("needs", []) and not cleaned.get("language_detail"):
            self.add_error("language_detail", "Enter the language you need information in")
        return cleaned

    def needs_with_details(self) -> dict[str, str]:
        """Ticked needs → detail. Details staff recorded for other needs are kept, not wiped."""
        current = {n.need: n.detail for n in self.contact.communication_needs.all()}
        language = CommunicationNeed.Need.OTHER_LANGUAGE
        return {
            need: self.cleaned_data["language_detail"].strip() if need == language else current.get(need, "")
            for need in self.cleaned_data["needs"]
        }


# The 'about you' questions, worded as the ONS Census 2021 asks them.
EQUALITY_QUESTIONS = {
    "age_band": ("What is your age?", ""),
    "sex": ("What is your sex?", "A question about gender identity follows."),
    "gender_identity": ("Is the gender you identify with the same as your sex registered at birth?", ""),
    "ethnic_group": ("What is your ethnic group?", ""),
    "religion": ("What is your religion?", ""),
    "disability": (
        "Are your day-to-day activities limited because of a health problem or disability which has lasted, "
        "or is expected to last, at least 12 months?",
        "Include problems related to old age.",
    ),
    "sexual_orientation": ("Which of the following best describes your sexual orientation?", ""),
    "pregnancy_maternity": ("Are you pregnant, or have you given birth in the last 26 weeks?", ""),
    "marital_status": ("What is your legal marital or registered civil partnership status?", ""),
    "carer": (
        "Do you look after, or give any help or support to, anyone because they have long-term physical or "
        "mental health conditions or illnesses, or problems related to old age?",
        "Do not count anything you do as part of your paid employment.",
    ),
}


class AboutYouForm(PurposeChoicesMixin, NhsukForm):
    purposes_equality = True
    purposes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False, error_messages={
        "invalid_choice": "Unknown choice: %(value)s"})

    def __init__(self, *args, contact: Contact, **kwargs):
        profile = EqualityProfile.objects.filter(contact=contact).first()
        summary = consent_summary(contact)
        initial = {field: getattr(profile, field) for field in EqualityProfile.ANSWER_FIELDS} if profile else {}
        initial["purposes"] = [code for code, status in summary.items() if status == "granted"]
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for field in EqualityProfile.ANSWER_FIELDS:
            label, hint = EQUALITY_QUESTIONS[field]
            self.fields[field] = forms.ChoiceField(
                label=label, help_text=hint, required=False, widget=forms.RadioSelect,
                choices=EqualityProfile._meta.get_field(field).choices,
                error_messages={"invalid_choice": "Select one of the options"},
            )
        # Questions first, then the consent choices that govern them.
        self.order_fields([*EqualityProfile.ANSWER_FIELDS, "purposes"])
        self.setup_purposes()

    def clean(self):
        cleaned = super().clean()
        self.check_wording()
        return cleaned

    def answers(self) -> dict[str, str]:
        return {field: self.cleaned_data.get(field, "") for field in EqualityProfile.ANSWER_FIELDS}

    def question_fields(self):
        return [self[field] for field in EqualityProfile.ANSWER_FIELDS]
