"""Small template helpers for the staff pages."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def whole_minutes(value) -> int:
    """A timedelta (or seconds) as whole minutes, rounded up: "try again in 30 minutes"."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value or 0)
    return int(-(-seconds // 60))


@register.filter
def lookup(mapping, key):
    """``{{ hints|lookup:value }}``: a dict entry by a variable key."""
    return (mapping or {}).get(key, "")


@register.filter
def checkbox_options(bound_field):
    """The choices of a multiple-choice field as dicts for NHS.UK checkbox/radio markup."""
    selected = {str(value) for value in (bound_field.value() or [])} if isinstance(bound_field.value(), list | tuple) \
        else {str(bound_field.value())}
    return [
        {"id": widget.id_for_label, "value": str(widget.data["value"]), "label": widget.choice_label,
         "checked": str(widget.data["value"]) in selected}
        for widget in bound_field.subwidgets
    ]
