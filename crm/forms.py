"""Form plumbing shared by every page that writes: a service's refusal is shown on the form."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's refusal on the form, against the field it names if there is one."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


@dataclass(frozen=True)
class Written:
    result: object = None  # what the service returned


def write_valid_post(request, form, write) -> Written | None:
    """Run ``write(form.cleaned_data)`` (a service call) for a POST whose form is valid.

    Returns ``Written(result)`` when the service accepted it, else None: a GET, invalid data, or a
    refusal (the service's ValidationError, added to the form so the page shows it, not a 500).
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return Written(write(form.cleaned_data))
    except ValidationError as error:
        add_service_errors(form, error)
        return None
