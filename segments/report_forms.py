"""Forms for the representation report and its baseline upload (validation only: services write)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError

from consent.staff.forms import DateInputField, StaffForm
from crm.census import MAX_BASELINE_BYTES
from crm.templatetags.nhs_dates import day
from segments.models import Activity, Event, Programme

LONDON = ZoneInfo("Europe/London")
EVENT_CHOICES = 50  # the newest events; older ones are reached by the period


class BaselineForm(StaffForm):
    file = forms.FileField(
        label="Census baseline (CSV)",
        help_text="The columns area_code, area_name, characteristic, category and residents, one area's usual "
                  "residents by sex, age, ethnic group and religion. Smaller than 1 MB.",
        error_messages={"required": "Choose the census baseline file", "empty": "The file is empty"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BASELINE_BYTES:
            raise ValidationError("The file must be smaller than 1 MB: a census baseline is a few hundred rows")
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise ValidationError("The file must be a CSV file")
        return upload


class ReportForm(StaffForm):
    """Who the 'who are we missing' report counts. Read from the query string: a report is a link."""

    population = forms.ChoiceField(label="Who to count", required=False, widget=forms.RadioSelect)
    start = DateInputField(label="From", required=False, past_only=False,
                           help_text="Events on or after this day. Leave blank for all time. For example, 1 4 2026")
    end = DateInputField(label="To", required=False, past_only=False,
                         help_text="Events up to and including this day. For example, 31 3 2027")
    events = forms.ModelMultipleChoiceField(label="Events", required=False, queryset=Event.objects.none(),
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="Leave all unticked to count every event in the period.")
    activity = forms.ModelChoiceField(label="Activity", required=False, queryset=Activity.objects.none(),
                                      empty_label="Any activity")
    programme = forms.ModelChoiceField(label="Programme", required=False, queryset=Programme.objects.none(),
                                       empty_label="Any programme")

    def __init__(self, *args, **kwargs):
        from segments.representation import POPULATIONS  # noqa: PLC0415 (representation imports models)

        super().__init__(*args, **kwargs)
        self.fields["population"].choices = list(POPULATIONS.items())
        newest = list(Event.objects.order_by("-starts_at").values_list("pk", flat=True)[:EVENT_CHOICES])
        self.fields["events"].queryset = Event.objects.filter(pk__in=newest).order_by("-starts_at")
        self.fields["events"].label_from_instance = lambda event: f"{event.title}, {day(event.starts_at)}"
        self.fields["activity"].queryset = Activity.objects.order_by("title")
        self.fields["programme"].queryset = Programme.objects.order_by("name")

    def clean_population(self):
        return self.cleaned_data.get("population") or "reachable"

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date must be the same as or after the start date")
        if data.get("activity") and data.get("programme"):
            self.add_error("programme", "Choose an activity or a programme, not both")
        if data.get("population") == "reachable" and (data.get("events") or data.get("activity")
                                                       or data.get("programme")):
            self.add_error("population", "Everyone we can contact is not counted per event or activity: choose "
                                         "invited, came or took part, or clear the events and activity")
        return data

    def period(self) -> tuple[datetime | None, datetime | None]:
        """London midnight at the start of ``start`` and after the end of ``end`` (the end day included)."""
        start, end = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        return (datetime.combine(start, time(0), tzinfo=LONDON) if start else None,
                datetime.combine(end + timedelta(days=1), time(0), tzinfo=LONDON) if end else None)
