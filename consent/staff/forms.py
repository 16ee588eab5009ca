"""Forms for the staff workspace. Validation only: every write goes through a service.

Fields are rendered by the templates in consent_staff/fields/ as NHS.UK components; dates use the
NHS.UK three-box date input (day, month, year) rather than a browser date picker.
"""

import uuid
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.forms import NhsukForm
from consent.models import ConsentEvent, ConsentStatement, Purpose
from consent.search import NO_STATE, ContactFilters
from crm.models import CommunicationNeed, Contact, Locality, Organisation, Topic
from crm.normalise import normalise_email, normalise_postcode

Method = ConsentEvent.Method
# How staff come to record consent: never a method that claims the person acted from their mailbox.
STAFF_METHODS = [(m.value, m.label) for m in (Method.PAPER_FORM, Method.PHONE, Method.EVENT, Method.STAFF_ON_REQUEST)]
STAFF_ACTIONS = [
    (ConsentEvent.Action.CONFIRMED, "Consent given"),
    (ConsentEvent.Action.WITHDRAWN, "Consent withdrawn"),
]


def posted(request):
    """Form data for a POST (even an empty one, so a bare submit shows its errors), else unbound."""
    return request.POST if request.method == "POST" else None


# --- dates ----------------------------------------------------------------------------------

class DateInputWidget(forms.MultiWidget):
    def __init__(self, attrs=None):
        box = {"inputmode": "numeric", "class": "nhsuk-input nhsuk-date-input__input"}
        super().__init__([forms.TextInput(box), forms.TextInput(box), forms.TextInput(box)], attrs)

    def decompress(self, value):
        return [value.day, value.month, value.year] if value else [None, None, None]


class DateInputField(forms.MultiValueField):
    """Day, month and year boxes → a date (None when all are blank and the field is optional)."""

    widget = DateInputWidget

    def __init__(self, *, past_only: bool = True, **kwargs):
        self.past_only = past_only
        parts = tuple(forms.CharField(required=False) for _ in range(3))
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", "Enter a date")
        super().__init__(fields=parts, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not any((part or "").strip() for part in data_list):
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return None
        try:
            day, month, year = (int((part or "").strip()) for part in data_list)
            value = date(year, month, day)
        except ValueError as exc:
            raise ValidationError("Enter a real date, for example 27 3 2026", code="invalid") from exc
        if year < 1900:
            raise ValidationError("Enter the year as 4 numbers, for example 2026", code="invalid")
        if self.past_only and value > timezone.localdate():
            raise ValidationError("The date must be today or in the past", code="future")
        return value


class StaffForm(NhsukForm):
    """The public forms' error-summary behaviour, plus date inputs (the summary links to the day box)."""

    def anchor_for(self, name: str) -> str:
        bound = self[name]
        if isinstance(bound.field.widget, DateInputWidget):
            return f"{bound.auto_id}_0"
        return super().anchor_for(name)


# --- finding a person -----------------------------------------------------------------------

def find_contact(identifier: str) -> Contact | None:
    """By email address (compared normalised) or by the contact's reference (public id)."""
    value = (identifier or "").strip()
    if not value:
        return None
    try:
        return Contact.objects.filter(public_id=uuid.UUID(value)).first()
    except ValueError:
        pass
    try:
        return Contact.objects.filter(email_normalised=normalise_email(value)).first()
    except ValidationError:
        return None


class ContactLookupMixin:
    """A text field named ``contact`` holding an email address or reference → ``self.contact``."""

    contact_required = False
    contact = None

    def clean_contact(self):
        value = self.cleaned_data.get("contact", "")
        if not value.strip():
            if self.contact_required:
                raise ValidationError("Enter the person's email address or contact reference")
            return ""
        self.contact = find_contact(value)
        if self.contact is None:
            raise ValidationError("No contact has this email address or reference")
        return value


def _contact_field(required=False):
    return forms.CharField(
        label="Email address or contact reference", max_length=254, required=required,
        help_text="The address is compared without regard to capital letters.",
    )


# --- search ---------------------------------------------------------------------------------

class SlugChoiceField(forms.ModelChoiceField):
    """A choice named by its slug in the URL (``?topic=dementia``); an id from an older link still works."""

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset, to_field_name="slug", **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.isdigit():
            found = self.queryset.filter(pk=int(value)).first()
            if found is not None:
                return found
        return super().to_python(value)


def _any(choices, label="Any"):
    return [("", label), *choices]


class ContactSearchForm(StaffForm):
    name = forms.CharField(label="Name", max_length=200, required=False)
    name_match = forms.ChoiceField(
        label="Match the name", required=False, initial="contains", widget=forms.RadioSelect,
        choices=[("contains", "Contains"), ("prefix", "Starts with")],
        help_text="'Starts with' matches the start of the whole name (first name first).",
    )
    email = forms.CharField(label="Email address", max_length=254, required=False,
                            help_text="A whole address, or the start of one.")
    postcode = forms.CharField(label="Postcode", max_length=8, required=False,
                               help_text="A whole postcode or the start of one, like L20.")
    locality = SlugChoiceField(label="Locality", queryset=Locality.objects.all(), required=False, empty_label="Any")
    topic = SlugChoiceField(label="Topic", queryset=Topic.objects.all(), required=False, empty_label="Any")
    purpose = forms.ChoiceField(label="Consent for", required=False)
    purpose_state = forms.ChoiceField(
        label="Consent state", required=False,
        choices=_any([("granted", "Granted"), ("pending", "Awaiting confirmation"), ("withdrawn", "Withdrawn"),
                      (NO_STATE, "Never asked")]),
    )
    kind = forms.ChoiceField(label="Kind of contact", required=False, choices=_any(Contact.Kind.choices))
    organisation = forms.ModelChoiceField(label="Organisation", queryset=Organisation.objects.all(),
                                          required=False, empty_label="Any")
    need = forms.ChoiceField(label="Communication need", required=False,
                             choices=_any(CommunicationNeed.Need.choices))
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = _any(list(Purpose.objects.values_list("code", "name")))
        if self.is_bound and not self.data.get("name_match"):  # show the default that is applied
            self.data = self.data.copy()
            self.data["name_match"] = "contains"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("purpose_state") and not cleaned.get("purpose"):
            self.add_error("purpose", "Choose the purpose whose consent state you want")
        if cleaned.get("purpose") and not cleaned.get("purpose_state"):
            self.add_error("purpose_state", "Choose a consent state for this purpose")
        return cleaned

    def filters(self) -> ContactFilters:
        data = self.cleaned_data
        return ContactFilters(
            name=data.get("name", ""), name_match=data.get("name_match") or "contains", email=data.get("email", ""),
            postcode=data.get("postcode", ""), locality=data["locality"].pk if data.get("locality") else None,
            topic=data["topic"].pk if data.get("topic") else None, purpose=data.get("purpose", ""),
            purpose_state=data.get("purpose_state", ""), kind=data.get("kind", ""),
            organisation=data["organisation"].pk if data.get("organisation") else None, need=data.get("need", ""),
        )


# --- people ---------------------------------------------------------------------------------

def _email_field():
    return forms.CharField(label="Email address", max_length=254, error_messages={
        "required": "Enter an email address", "max_length": "Email address must be 254 characters or fewer"})


class ContactDetailsMixin:
    def clean_email(self):
        value = self.cleaned_data["email"]
        normalise_email(value)  # raises a message staff can act on
        return value.strip()

    def clean_postcode(self):
        return normalise_postcode(self.cleaned_data["postcode"])


class AddContactForm(ContactDetailsMixin, StaffForm):
    name = forms.CharField(label="Full name", max_length=200, error_messages={"required": "Enter the person's name"})
    email = _email_field()
    postcode = forms.CharField(label="Postcode (optional)", max_length=10, required=False)
    kind = forms.ChoiceField(label="Kind of contact", choices=Contact.Kind.choices, initial=Contact.Kind.PUBLIC)
    organisation = forms.ModelChoiceField(label="Organisation (optional)", queryset=Organisation.objects.all(),
                                          required=False, empty_label="None")
    topics = forms.ModelMultipleChoiceField(label="Topics", queryset=Topic.objects.filter(is_active=True),
                                            required=False, widget=forms.CheckboxSelectMultiple)
    purposes = forms.MultipleChoiceField(
        label="What did the person agree to?", widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Select at least one thing the person agreed to"},
    )
    method = forms.ChoiceField(label="How was consent given?", choices=STAFF_METHODS, widget=forms.RadioSelect,
                               error_messages={"required": "Select how consent was given"})
    occurred_on = DateInputField(label="When was consent given?", help_text="For example, 12 11 2026",
                                 error_messages={"required": "Enter the date consent was given"})
    evidence_reference = forms.CharField(
        label="Evidence reference", max_length=200,
        help_text="Where the signed form or call note is kept, for example 'Big Chat sign-up sheet 4'.",
        error_messages={"required": "Enter where the evidence of consent is kept"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        statements = {s.purpose_id: s for s in ConsentStatement.objects.filter(published_at__isnull=False)
                      .order_by("purpose", "version")}
        purposes = Purpose.objects.filter(is_equality=False)
        self.fields["purposes"].choices = [(p.code, p.name) for p in purposes]
        self.fields["purposes"].option_hints = {
            p.code: f"{statements[p.pk].text} (version {statements[p.pk].version})" for p in purposes
            if p.pk in statements
        }


class EditContactForm(ContactDetailsMixin, StaffForm):
    name = forms.CharField(label="Full name", max_length=200, error_messages={"required": "Enter the person's name"})
    email = _email_field()
    email.help_text = ("A new address gets a confirmation email. Until the person confirms from it, their "
                       "consent waits and nothing else is sent.")
    postcode = forms.CharField(label="Postcode (optional)", max_length=10, required=False)
    kind = forms.ChoiceField(label="Kind of contact", choices=Contact.Kind.choices)
    organisation = forms.ModelChoiceField(label="Organisation (optional)", queryset=Organisation.objects.all(),
                                          required=False, empty_label="None")
    preferred_language = forms.CharField(label="Preferred language", max_length=60, required=False)
    topics = forms.ModelMultipleChoiceField(label="Topics", queryset=Topic.objects.all(), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    needs = forms.MultipleChoiceField(label="Communication needs", choices=CommunicationNeed.Need.choices,
                                      required=False, widget=forms.CheckboxSelectMultiple)
    language_detail = forms.CharField(label="Language needed (if another language)", max_length=200, required=False)

    def __init__(self, *args, contact: Contact, **kwargs):
        self.contact = contact
        needs = {n.need: n.detail for n in contact.communication_needs.all()}
        kwargs.setdefault("initial", {
            "name": contact.name, "email": contact.email, "postcode": contact.postcode, "kind": contact.kind,
            "organisation": contact.organisation, "preferred_language": contact.preferred_language,
            "topics": list(contact.topics.all()), "needs": list(needs),
            "language_detail": needs.get(CommunicationNeed.Need.OTHER_LANGUAGE, ""),
        })
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if CommunicationNeed.Need.OTHER_LANGUAGE in cleaned.get("needs", []) and not cleaned.get("language_detail"):
            self.add_error("language_detail", "Enter the language the person needs")
        return cleaned

    def details(self) -> dict:
        data = self.cleaned_data
        return {field: data[field] for field in ("name", "postcode", "kind", "organisation", "preferred_language")}

    def needs_with_details(self) -> dict[str, str]:
        current = {n.need: n.detail for n in self.contact.communication_needs.all()}
        language = CommunicationNeed.Need.OTHER_LANGUAGE
        return {need: self.cleaned_data["language_detail"].strip() if need == language else current.get(need, "")
                for need in self.cleaned_data["needs"]}


class RecordConsentForm(StaffForm):
    statement = forms.ModelChoiceField(
        label="Purpose and wording", queryset=ConsentStatement.objects.none(), empty_label="Choose",
        help_text="The consent statement (purpose and version) the person saw on the form or had read to them.",
        error_messages={"required": "Choose the purpose and wording version"},
    )
    action = forms.ChoiceField(label="What happened?", choices=STAFF_ACTIONS, widget=forms.RadioSelect,
                               error_messages={"required": "Select whether consent was given or withdrawn"})
    method = forms.ChoiceField(label="How?", choices=STAFF_METHODS, widget=forms.RadioSelect,
                               error_messages={"required": "Select how the person told us"})
    occurred_on = DateInputField(label="When did it happen?", help_text="For example, 12 11 2026",
                                 error_messages={"required": "Enter the date it happened"})
    evidence_reference = forms.CharField(
        label="Evidence reference", max_length=200,
        help_text="Where the form or call note is kept, for example 'phone log 2026-11-12'.",
        error_messages={"required": "Enter where the evidence is kept"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["statement"]
        field.queryset = (ConsentStatement.objects.filter(published_at__isnull=False)
                          .select_related("purpose").order_by("purpose__display_order", "-version"))
        field.label_from_instance = lambda s: f"{s.purpose.name}, version {s.version}"


class MergeChooseForm(ContactLookupMixin, StaffForm):
    contact_required = True
    contact = _contact_field(required=True)


class MergeConfirmForm(StaffForm):
    duplicate = forms.UUIDField(widget=forms.HiddenInput)
    same_person = forms.BooleanField(
        label="I have checked that both records are the same person",
        error_messages={"required": "Confirm that both records are the same person"},
    )


# --- statements -----------------------------------------------------------------------------

class StatementForm(StaffForm):
    text = forms.CharField(label="Wording", widget=forms.Textarea(attrs={"rows": 6}), max_length=4000,
                           help_text="Exactly what people will read and agree to.",
                           error_messages={"required": "Enter the wording people will agree to"})


# --- cases ----------------------------------------------------------------------------------

class SubjectAccessOpenForm(ContactLookupMixin, StaffForm):
    received_on = DateInputField(label="Date received", help_text="For example, 3 11 2026",
                                 error_messages={"required": "Enter the date the request was received"})
    requester_description = forms.CharField(
        label="How the request arrived", max_length=200, required=False,
        help_text="For example 'letter', 'email to the DPO'. No names or addresses: the case outlives the person.",
    )
    contact = _contact_field()
    identity_checked_on = DateInputField(
        label="Identity checked on (optional)", required=False,
        help_text="Leave blank if identity still needs to be checked: the clock starts when it is.",
    )


class DateForm(StaffForm):
    """One date: identity checked, clock stopped or restarted."""

    on = DateInputField(label="Date", error_messages={"required": "Enter a date"})

    def __init__(self, *args, label: str = "Date", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].label = label


class LinkContactForm(ContactLookupMixin, StaffForm):
    contact_required = True
    contact = _contact_field(required=True)


class CloseSubjectAccessForm(StaffForm):
    closed_on = DateInputField(label="Date the response was sent", error_messages={"required": "Enter a date"})
    outcome = forms.CharField(
        label="What was sent, how and when", widget=forms.Textarea(attrs={"rows": 4}), max_length=4000,
        error_messages={"required": "Record what was sent, how and when"},
    )


class ErasureOpenForm(ContactLookupMixin, StaffForm):
    received_on = DateInputField(label="Date received", error_messages={"required": "Enter the date received"})
    contact = _contact_field()
    notes = forms.CharField(
        label="Notes (optional)", widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False,
        help_text="No names, addresses or other personal data: this record is kept after the person is erased.",
    )


class ErasureConfirmForm(StaffForm):
    understood = forms.BooleanField(
        label="I understand that this deletes the person and their data everywhere, and cannot be undone",
        error_messages={"required": "Confirm that you understand the erasure cannot be undone"},
    )


class ErasureRefuseForm(StaffForm):
    reason = forms.CharField(
        label="Why is the request refused?", widget=forms.Textarea(attrs={"rows": 3}), max_length=1000,
        help_text="No personal data.", error_messages={"required": "Record why the request was refused"},
    )
