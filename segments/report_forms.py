"""Forms for the representation report and its baseline upload (validation only: services write)."""

from django import forms
from django.core.exceptions import ValidationError

from consent.staff.forms import StaffForm
from crm.census import MAX_BASELINE_BYTES


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
