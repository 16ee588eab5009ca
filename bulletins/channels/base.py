"""What every delivery channel accepts and returns (INTERFACES.md, "Sending").

The pipeline hands a channel at most ``max_batch`` messages at a time, already throttled, and
records each ``SendResult`` on its Delivery row. A channel never touches the ledger itself.
"""

from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import make_msgid

from bulletins.rendering import RenderedVariant, personalise

SENT = "sent"
FAILED = "failed"
RETRY = "retry"  # transient: the pipeline puts the row back with a back-off


@dataclass(frozen=True)
class OutgoingMessage:
    delivery_id: int
    to: str
    variant: RenderedVariant
    merge: dict[str, str]
    plain_text_only: bool
    headers: dict[str, str] = field(default_factory=dict)  # List-Unsubscribe etc: personalised, CR/LF-free

    @property
    def text(self) -> str:
        return personalise(self.variant.text, self.merge)

    @property
    def html(self) -> str:
        return personalise(self.variant.html, self.merge, html=True)


@dataclass(frozen=True)
class SendResult:
    delivery_id: int
    outcome: str  # SENT | FAILED | RETRY
    reason: str = ""
    provider_message_id: str = ""


class Channel(Protocol):
    max_batch: int

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]: ...


def message_id_domain() -> str:
    """The From address's domain: Message-IDs are made without a DNS lookup of this host."""
    return getattr(settings, "BULLETIN_MESSAGE_ID_DOMAIN", "") or settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">")


def as_email(message: OutgoingMessage, *, connection=None, message_id: str = "") -> EmailMessage:
    """A Django email for one recipient: plain text, plus the HTML alternative unless they asked for text only.

    Django refuses header values containing CR or LF (BadHeaderError) when the message is built.
    """
    cls = EmailMessage if message.plain_text_only else EmailMultiAlternatives
    headers = {**message.headers, "Message-ID": message_id or make_msgid(domain=message_id_domain())}
    email = cls(
        subject=message.variant.subject, body=message.text, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to], headers=headers, connection=connection,
    )
    if not message.plain_text_only:
        email.attach_alternative(message.html, "text/html")
    return email
