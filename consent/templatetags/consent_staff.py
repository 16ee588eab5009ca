"""Helpers for the staff templates: NHS.UK field markup values, querystrings for keyset links, tags."""

import json

from django import template
from django.utils.http import urlencode

register = template.Library()

STATUS_TAG_CLASSES = {
    "granted": "nhsuk-tag--green",
    "pending": "nhsuk-tag--blue",
    "withdrawn": "nhsuk-tag--red",
    "confirmed": "nhsuk-tag--green",
    "given": "nhsuk-tag--blue",
    "awaiting_id": "nhsuk-tag--yellow",
    "awaiting_clarification": "nhsuk-tag--yellow",
    "in_progress": "nhsuk-tag--blue",
    "closed": "nhsuk-tag--grey",
    "open": "nhsuk-tag--blue",
    "completed": "nhsuk-tag--grey",
    "refused": "nhsuk-tag--orange",
}


@register.filter
def tag_class(status) -> str:
    return STATUS_TAG_CLASSES.get(str(status), "nhsuk-tag--grey")


@register.filter
def options(bound_field):
    """Choices of a select, checkbox or radio field as dicts (id, value, label, checked, hint)."""
    hints = getattr(bound_field.field, "option_hints", {})
    rows = []
    for widget in bound_field.subwidgets:
        value = "" if widget.data["value"] is None else str(widget.data["value"])
        rows.append({"id": widget.id_for_label, "value": value, "label": widget.choice_label,
                     "checked": widget.data["selected"], "hint": hints.get(value, "")})
    return rows


@register.filter
def describedby(bound_field) -> str:
    """Ids for ``aria-describedby``: the hint (if any) then the error (if any)."""
    ids = []
    if bound_field.help_text:
        ids.append(f"{bound_field.auto_id}-hint")
    if bound_field.errors:
        ids.append(f"{bound_field.auto_id}-error")
    return " ".join(ids)


@register.filter
def date_parts(bound_field):
    """The day, month and year boxes of a DateInputField: (id, name, value, label, width)."""
    value = bound_field.value()
    if not isinstance(value, list | tuple):
        value = bound_field.field.widget.decompress(value)
    labels = (("Day", 2), ("Month", 2), ("Year", 4))
    return [
        {"id": f"{bound_field.auto_id}_{i}", "name": f"{bound_field.html_name}_{i}",
         "value": "" if value[i] is None else value[i], "label": label, "width": width}
        for i, (label, width) in enumerate(labels)
    ]


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current querystring with ``changes`` applied (None removes a key); keyset keys are reset."""
    params = context["request"].GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return "?" + urlencode(sorted((k, v) for k in params for v in params.getlist(k)))


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if mapping else ""


@register.filter
def label(key: str) -> str:
    """``preferred_language`` → "Preferred language"."""
    return str(key).replace("_", " ").capitalize()


# Sections of a subject access export that the export page lays out itself.
KNOWN_EXPORT_SECTIONS = {
    "format_version", "generated_at", "controller", "contact", "topics", "communication_needs",
    "equality_answers", "consent_states", "consent_history", "suppressions", "audit_entries", "cases",
}


@register.filter
def extra_sections(data: dict):
    """Sections added by other layers (e.g. deliveries, comments), shown as they are."""
    return [(key, value) for key, value in data.items() if key not in KNOWN_EXPORT_SECTIONS]


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)
