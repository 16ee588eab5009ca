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
