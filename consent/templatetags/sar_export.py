"""Labels for the readable subject access export: the JSON keeps codes, the page shows words."""

from django import template

from consent.models import Purpose

register = template.Library()

# Words in audit action codes that read badly when simply spelled out.
ACTION_WORDS = {"sar": "subject access request", "otp": "second factor", "api": "API", "dp": "data protection"}


@register.filter
def purpose_name(code: str) -> str:
    """``bulletin`` → "E-bulletin" (the purpose's name as people saw it)."""
    return Purpose.objects.filter(code=code).values_list("name", flat=True).first() or str(code)


@register.filter
def action_label(action: str) -> str:
    """``contact.created`` → "Contact created"; ``sar.exported`` → "Subject access request exported"."""
    words = []
    for part in str(action).replace(".", " ").replace("_", " ").split():
        words.append(ACTION_WORDS.get(part, part))
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@register.filter
def is_moment_key(key: str) -> bool:
    """Contact details whose value is a timestamp (``confirmed_at``, ``created_at``…)."""
    return str(key).endswith("_at")


@register.filter
def records(section) -> list[list[tuple[str, object]]]:
    """A section added by another app (a list of records, or one record) as rows of (key, value) per record."""
    items = section if isinstance(section, list) else [section] if section else []
    rows = []
    for item in items:
        if isinstance(item, dict):
            rows.append([(str(key), _readable(value)) for key, value in item.items()])
        else:
            rows.append([("value", _readable(item))])
    return rows


def _readable(value):
    if isinstance(value, dict):
        return "; ".join(f"{str(key).replace('_', ' ')}: {_readable(inner)}" for key, inner in value.items())
    if isinstance(value, list):
        return ", ".join(str(_readable(inner)) for inner in value)
    return value
