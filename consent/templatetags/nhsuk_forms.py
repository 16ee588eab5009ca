"""Template helpers for rendering Django form fields as NHS.UK frontend components.

Widgets are not rendered by Django: the templates under consent/forms/ write the exact NHS.UK
component markup, and these filters give them the values they need.
"""

from django import template

register = template.Library()


@register.filter
def nhsuk_options(bound_field):
    """The choices of a checkbox or radio field as plain dicts (id, value, label, checked, hint)."""
    hints = getattr(bound_field.field, "option_hints", {})
    options = []
    for widget in bound_field.subwidgets:
        value = str(widget.data["value"])
        options.append({
            "id": widget.id_for_label,
            "value": value,
            "label": widget.choice_label,
            "checked": widget.data["selected"],
            "hint": hints.get(value, ""),
        })
    return options

