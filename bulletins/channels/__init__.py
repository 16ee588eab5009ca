"""Delivery channels, chosen by settings.BULLETIN_CHANNEL ("outbox", "smtp"; B3 adds "anymail", "notify")."""

from django.conf import settings
from django.utils.module_loading import import_string

CHANNELS = {
    "outbox": "bulletins.channels.outbox.OutboxChannel",
    "smtp": "bulletins.channels.smtp.SmtpChannel",
    "anymail": "bulletins.channels.anymail.AnymailChannel",
    "notify": "bulletins.channels.notify.NotifyChannel",
}


def get_channel(name: str | None = None):
    """A new channel instance. A dotted path is accepted too (tests and benchmarks plug in their own)."""
    name = name or getattr(settings, "BULLETIN_CHANNEL", "outbox")
    path = CHANNELS.get(name, name)
    if "." not in path:
        raise ValueError(f"Unknown BULLETIN_CHANNEL {name!r}; choose one of {', '.join(CHANNELS)}")
    return import_string(path)()
