"""Forms for the segments and events pages: they check the shape of what was typed; services decide the rest.

The rule builder's rows are not a Django form (they are a variable tree): see ``segments.rule_builder``.
"""

import re
from datetime import datetime, time

from django import forms
from django.core.exceptions import ValidationError

from consent.forms import NhsukForm
from consent.staff.forms import DateInputField, StaffForm
from crm.models import Locality, Topic
from crm.validators import ControlCharacterValidator
from segments.exports import COLUMNS, DEFAULT_COLUMNS
from segments.models import Event, Invitation, InvitationExport
from segments.services import EQUALITY_PERMISSION

_TIME = re.compile(r"^\s*(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?\s*$", re.IGNORECASE)


class SegmentDetailsForm(StaffForm):
    name = forms.CharField(label="Name", max_length=120, validators=[ControlCharacterValidator("Name")],
                           error_messages={"required": "Give the segment a name"})
    description = forms.CharField(label="Description (optional)", max_length=300, required=False,
                                  validators=[ControlCharacterValidator("Description")],
                                  help_text="Who these people are and what the segment is for.")


class ExportForm(StaffForm):
    event = forms.ModelChoiceField(label="Event", queryset=Event.objects.none(), empty_label="Choose an event",
                                   error_messages={"required": "Choose the event the list is for"})
    stated_purpose = forms.CharField(
        label="What the list is for", max_length=200, validators=[ControlCharacterValidator("Purpose")],
        help_text="Recorded with the export, for example 'Posting invitations to the Big Chat at the Central Library, 12 March'.",
        error_messages={"required": "Say what the list is for, for example 'Big Chat, Central Library, 12 March'"})
    columns = forms.MultipleChoiceField(label="Columns", widget=forms.CheckboxSelectMultiple,
                                        error_messages={"required": "Choose at least one column"})
    file_format = forms.ChoiceField(label="Format", choices=InvitationExport.Format.choices,
                                    widget=forms.RadioSelect, initial=InvitationExport.Format.CSV,
                                    error_messages={"required": "Choose CSV or Excel"})

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("columns", DEFAULT_COLUMNS)
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = Event.objects.order_by("-starts_at")
        self.fields["event"].label_from_instance = event_label
        self.equality_allowed = user.has_perm(EQUALITY_PERMISSION)
        # Equality columns are offered only to staff who may see equality answers.
        self.fields["columns"].choices = [(c.key, c.label) for c in COLUMNS if self.equality_allowed or not c.equality]
        self.fields["columns"].option_hints = {
            c.key: "Special category data: filled in only for people who agreed to invitations because of it"
            for c in COLUMNS if c.equality}


def event_label(event: Event) -> str:
    from crm.templatetags.nhs_dates import when  # noqa: PLC0415

    return f"{event.title}, {when(event.starts_at)}"


def parse_time(value: str) -> time:
    """"10am", "2:30pm", "14:30", "9.15" → a time."""
    match = _TIME.match(value or "")
    if not match:
        raise ValidationError("Enter a time, for example 10am or 14:30")
    hour, minute, half = int(match[1]), int(match[2] or 0), (match[3] or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ValidationError("Enter a time, for example 10am or 14:30")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValidationError("Enter a real time, for example 10am or 14:30")
    return time(hour, minute)


class TimeField(forms.Field):
    """A time of day typed as text ("10am", "14:30")."""

    widget = forms.TextInput

    def to_python(self, value):
        value = (value or "").strip()[:10]
        return parse_time(value) if value else None


class EventForm(StaffForm):
    kind = forms.ChoiceField(label="Kind of event", choices=Event.Kind.choices)
    title = forms.CharField(label="Title", max_length=200, validators=[ControlCharacterValidator("Title")],
                            error_messages={"required": "Give the event a title"})
    description = forms.CharField(label="Description (optional)", required=False, widget=forms.Textarea)
    day = DateInputField(label="Date", past_only=False, help_text="For example, 12 3 2027",
                         error_messages={"required": "Enter the date of the event"})
    starts = TimeField(label="Starts at (UK time)", help_text="For example, 10am or 14:30",
                       error_messages={"required": "Enter the time the event starts"})
    ends = TimeField(label="Ends at (UK time)", help_text="For example, 12:30pm",
                     error_messages={"required": "Enter the time the event ends"})
    venue_name = forms.CharField(label="Venue (optional)", max_length=200, required=False)
    venue_address = forms.CharField(label="Venue address (optional)", max_length=300, required=False)
    step_free = forms.BooleanField(label="Step-free access to the room", required=False)
    hearing_loop = forms.BooleanField(label="Hearing loop", required=False)
    bsl_interpreter = forms.BooleanField(label="A British Sign Language interpreter is booked", required=False)
    accessibility_notes = forms.CharField(label="Other access information (optional)", required=False,
                                          widget=forms.Textarea,
                                          help_text="Parking, the nearest accessible toilet, quiet room, and so on.")
    online_link = forms.URLField(label="Link to join online (optional)", required=False, assume_scheme="https",
                                 error_messages={"invalid": "Enter a web address, for example https://meet.example.org/big-chat"})
    locality = forms.ModelChoiceField(label="Locality (optional)", queryset=Locality.objects.order_by("name"),
                                      required=False, empty_label="Not in one locality")
    topics = forms.ModelMultipleChoiceField(label="Topics (optional)", queryset=Topic.objects.order_by("name"),
                                            required=False, widget=forms.CheckboxSelectMultiple)
    capacity = forms.IntegerField(label="Places (optional)", required=False, min_value=1, max_value=100_000,
                                  help_text="Leave empty for no limit. When it is full, people who say yes go on "
                                            "the waiting list.",
                                  error_messages={"invalid": "Enter the number of places as a whole number",
                                                  "min_value": "Enter at least 1 place, or leave it empty"})

    @classmethod
    def initial_for(cls, event: Event) -> dict:
        from django.utils import timezone  # noqa: PLC0415

        starts, ends = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
        initial = {name: getattr(event, name) for name in (
            "kind", "title", "description", "venue_name", "venue_address", "step_free", "hearing_loop",
            "bsl_interpreter", "accessibility_notes", "online_link", "locality", "capacity")}
        initial.update(day=starts.date(), starts=f"{starts:%H:%M}", ends=f"{ends:%H:%M}",
                       topics=list(event.topics.all()))
        return initial

    def service_values(self) -> dict:
        data = dict(self.cleaned_data)
        day, starts, ends = data.pop("day"), data.pop("starts"), data.pop("ends")
        data["starts_at"] = datetime.combine(day, starts)  # London wall clock; the service converts it
        data["ends_at"] = datetime.combine(day, ends)
        return data


class WalkInForm(StaffForm):
    email = forms.CharField(label="Their email address", max_length=254,
                            error_messages={"required": "Enter the email address of the person who came"})


class AttendanceUploadForm(StaffForm):
    file = forms.FileField(label="List of people who came (CSV)",
                           help_text="One email address a line, or a column headed 'email'.",
                           error_messages={"required": "Choose a CSV file", "empty": "The file is empty"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise ValidationError("The file must be smaller than 5 MB")
        return upload


class RsvpForm(NhsukForm):
    response = forms.ChoiceField(
        label="Are you coming?", widget=forms.RadioSelect,
        choices=[(Invitation.Response.YES, "Yes, I'm coming"), (Invitation.Response.NO, "No, I can't come"),
                 (Invitation.Response.MAYBE, "Maybe")],
        error_messages={"required": "Tell us if you are coming"})
    access_needs = forms.CharField(
        label="I need… (optional)", required=False, max_length=500, widget=forms.Textarea,
        help_text="Anything that would help you take part, for example a hearing loop, large print, a carer with "
                  "you, or an interpreter.",
        error_messages={"max_length": "Use at most 500 characters"})


# --- imports and the representation report (appended by the import and report pages' author) -------------

IMPORT_MAX_BYTES = 10 * 1024 * 1024  # larger files: manage.py import_contacts (with a progress bar)


class ImportForm(StaffForm):
    """A file of paper sign-ups and the consent evidence behind it (the service checks the evidence too)."""

    file = forms.FileField(label="File (CSV or Excel)",
                           help_text="A CSV (UTF-8 or Windows, commas or semicolons) or an Excel .xlsx file, "
                                     "smaller than 10 MB, with a first row naming the columns.",
                           error_messages={"required": "Choose the file to import", "empty": "The file is empty"})
    method = forms.ChoiceField(label="How the consent was collected", error_messages={
        "required": "Say how the consent was collected"})
    collected_on = DateInputField(label="Date the forms were filled in", past_only=True,
                                  help_text="For example, 20 11 2026",
                                  error_messages={"required": "Enter the date the forms were filled in"})
    collected_by = forms.CharField(label="Who collected them", max_length=150,
                                   validators=[ControlCharacterValidator("Who collected them")],
                                   help_text="For example, 'Engagement team at the Big Chat in the library'.",
                                   error_messages={"required": "Say who collected the forms"})
    evidence_reference = forms.CharField(label="Where the paper originals are kept", max_length=200,
                                         validators=[ControlCharacterValidator("Where the originals are")],
                                         help_text="For example, 'Box 12, engagement office'.",
                                         error_messages={"required": "Say where the paper originals are kept"})

    def __init__(self, *args, **kwargs):
        from consent.models import ConsentStatement, Purpose  # noqa: PLC0415
        from segments.imports import IMPORT_PURPOSES  # noqa: PLC0415
        from segments.models import ContactImport  # noqa: PLC0415

        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [("", "Choose how"), *ContactImport.Method.choices]
        names = dict(Purpose.objects.values_list("code", "name"))
        self.statement_fields = []
        for purpose in IMPORT_PURPOSES:
            published = ConsentStatement.objects.filter(purpose__code=purpose, published_at__isnull=False)
            choices = [(s.version, f"Version {s.version}, published {_day(s.published_at)}")
                       for s in published.order_by("-version")]
            name = f"statement_{purpose}"
            self.fields[name] = forms.TypedChoiceField(
                label=f"Wording people saw for {names.get(purpose, purpose)}", choices=choices, coerce=int,
                initial=choices[0][0] if choices else None,
                help_text="The version printed on the form. The newest is chosen for you.",
                error_messages={"required": "Choose the wording version printed on the form"})
            self.statement_fields.append(self[name])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise ValidationError("The file must be smaller than 10 MB: import larger files with the "
                                  "import_contacts command")
        if not upload.name.lower().endswith((".csv", ".xlsx", ".txt")):
            raise ValidationError("The file must be a CSV or an Excel (.xlsx) file")
        return upload

    def statement_versions(self) -> dict[str, int]:
        return {name.removeprefix("statement_"): value for name, value in self.cleaned_data.items()
                if name.startswith("statement_")}


def _day(moment) -> str:
    from crm.templatetags.nhs_dates import day  # noqa: PLC0415

    return day(moment)
