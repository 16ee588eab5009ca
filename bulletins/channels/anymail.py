"""Any django-anymail ESP, through its batch send: one API call carries many recipients.

The variant (one rendering per distinct set of matching items) goes once per call with the ESP's
own merge-field syntax in place of our ``[[name]]`` markers; each recipient's links travel as
``merge_data``, their List-Unsubscribe headers as ``merge_headers`` and the Delivery id as
``merge_metadata`` (so tracking webhooks name the row). anymail does not split batches, so the
channel chunks to the provider's limit.
"""

import re
from collections import defaultdict
from itertools import islice

from anymail.exceptions import AnymailAPIError, AnymailRequestsAPIError
from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection

from bulletins.channels.base import OutgoingMessage, SendResult

# Per-call recipient limits of the providers' batch APIs (STACK.md); a setting overrides.
ESP_BATCH_LIMITS = {
    "amazon_ses": 50, "resend": 100, "postmark": 500, "mailgun": 1000, "sendgrid": 1000, "brevo": 1000,
    "mailjet": 50, "mailersend": 500, "mandrill": 1000, "sparkpost": 1000, "mailtrap": 500,
    "unisender_go": 500, "test": 500,
}
# How each provider writes a per-recipient merge field in the message body.
ESP_MERGE_FIELD_FORMATS = {
    "mailgun": "%recipient.{}%", "sendgrid": ":{}", "brevo": "{{{{ params.{} }}}}", "mailjet": "[[var:{}]]",
    "mandrill": "*|{}|*", "sparkpost": "{{{{{}}}}}", "mailersend": "{{{{ {} }}}}", "mailtrap": "{{{{{}}}}}",
    "unisender_go": "{{{{{}}}}}", "test": "{{{{{}}}}}",
}
MARKER = re.compile(r"\[\[([a-z_]+)\]\]")
# anymail statuses that mean the provider took the message.
ACCEPTED = {"sent", "queued", "scheduled", "unknown"}
REFUSAL_REASONS = {
    "rejected": "The provider rejected this address (for example, it is on the provider's suppression list)",
    "invalid": "The provider says this address is not valid",
}


def _esp_name() -> str:
    backend = getattr(settings, "BULLETIN_ANYMAIL_BACKEND", "") or settings.EMAIL_BACKEND
    # "anymail.backends.<esp>.EmailBackend"
    parts = backend.split(".")
    return parts[2] if len(parts) > 3 and parts[0] == "anymail" else ""


def _chunks(items, size):
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _is_transient(error: AnymailAPIError) -> bool:
    status = getattr(error, "status_code", None)
    return status is None or status == 429 or status >= 500


class AnymailChannel:
    """Hands each chunk of recipients that share a rendering to the ESP in one call."""

    def __init__(self):
        esp = _esp_name()
        if not esp:
            raise ValueError("BULLETIN_CHANNEL=anymail needs ANYMAIL_ESP (or BULLETIN_ANYMAIL_BACKEND) set")
        self.backend = getattr(settings, "BULLETIN_ANYMAIL_BACKEND", "") or settings.EMAIL_BACKEND
        self.max_batch = int(getattr(settings, "BULLETIN_ESP_BATCH_LIMIT", 0) or ESP_BATCH_LIMITS.get(esp, 500))
        self.field_format = getattr(settings, "BULLETIN_MERGE_FIELD_FORMAT", "") or ESP_MERGE_FIELD_FORMATS.get(esp)
        if not self.field_format:
            raise ValueError(f"Set BULLETIN_MERGE_FIELD_FORMAT for the {esp} provider (e.g. '{{{{{{}}}}}}')")

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        groups = defaultdict(list)
        for message in messages:
            groups[(id(message.variant), message.plain_text_only)].append(message)
        results = []
        connection = get_connection(self.backend)
        with connection:
            for group in groups.values():
                for chunk in _chunks(group, self.max_batch):
                    results.extend(self._send_chunk(chunk, connection))
        return results

    def _template(self, text: str) -> str:
        return MARKER.sub(lambda m: self.field_format.format(m.group(1)), text)

    def _send_chunk(self, chunk: list[OutgoingMessage], connection) -> list[SendResult]:
        first = chunk[0]
        email = AnymailMessage(
            subject=first.variant.subject, body=self._template(first.variant.text),
            to=[m.to for m in chunk], connection=connection,
        )
        if not first.plain_text_only:
            email.attach_alternative(self._template(first.variant.html), "text/html")
        email.merge_global_data = {}
        email.merge_data = {m.to: dict(m.merge) for m in chunk}
        email.merge_headers = {m.to: dict(m.headers) for m in chunk}
        email.merge_metadata = {m.to: {"delivery_id": str(m.delivery_id)} for m in chunk}
        email.track_opens = False  # no open or click tracking (DESIGN.md)
        email.track_clicks = False
        try:
            email.send()
        except AnymailRequestsAPIError as error:
            return self._whole_chunk(chunk, error)
        except AnymailAPIError as error:
            return self._whole_chunk(chunk, error)
        except OSError as error:  # connection refused, DNS, timeout: the provider may recover
            return [SendResult(m.delivery_id, "retry", f"Provider not reachable ({type(error).__name__})")
                    for m in chunk]
        return [self._recipient_result(m, email.anymail_status.recipients.get(m.to)) for m in chunk]

    @staticmethod
    def _whole_chunk(chunk, error: AnymailAPIError) -> list[SendResult]:
        status = getattr(error, "status_code", None)
        outcome = "retry" if _is_transient(error) else "failed"
        reason = f"The email provider refused the batch (HTTP {status})" if status else \
            "The email provider could not be reached"
        return [SendResult(m.delivery_id, outcome, reason) for m in chunk]

    @staticmethod
    def _recipient_result(message: OutgoingMessage, status) -> SendResult:
        if status is None:
            return SendResult(message.delivery_id, "retry", "The provider did not report on this recipient")
        message_id = "" if status.message_id is None else str(status.message_id)
        if status.status in ACCEPTED:
            return SendResult(message.delivery_id, "sent", provider_message_id=message_id)
        if status.status == "failed":
            return SendResult(message.delivery_id, "retry", "The provider failed to send it", message_id)
        reason = REFUSAL_REASONS.get(status.status, "The provider refused this address")
        return SendResult(message.delivery_id, "failed", reason, message_id)
