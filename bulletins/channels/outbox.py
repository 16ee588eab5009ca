"""The embedded default: each message written as one .eml file in EMAIL_OUTBOX_DIR.

A new user can open the folder and double-click a message. Files are written under a temporary
name and renamed, so a half-written message never shows.
"""

import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail import BadHeaderError

from bulletins.channels.base import FAILED, RETRY, SENT, OutgoingMessage, SendResult, as_email


class OutboxChannel:
    max_batch = 1000

    def __init__(self, directory: Path | str | None = None):
        self.directory = Path(directory or settings.EMAIL_OUTBOX_DIR)

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        self.directory.mkdir(parents=True, exist_ok=True)
        return [self._write(message) for message in messages]

    def _write(self, message: OutgoingMessage) -> SendResult:
        try:
            email = as_email(message)
            data = email.message().as_bytes()
        except (BadHeaderError, ValueError) as exc:
            return SendResult(message.delivery_id, FAILED, reason=f"The message could not be built: {exc}"[:200])
        # A random part too: delivery ids are reused across test databases, and a resend must not overwrite.
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{message.delivery_id}-{uuid.uuid4().hex[:8]}"
        final = self.directory / f"{stem}.eml"
        partial = self.directory / f".{stem}.part"
        try:
            partial.write_bytes(data)
            os.replace(partial, final)
        except OSError as exc:  # disk full, permissions: worth another go later
            return SendResult(message.delivery_id, RETRY, reason=f"The outbox folder could not be written ({exc.strerror}).")
        return SendResult(message.delivery_id, SENT, provider_message_id=email.extra_headers["Message-ID"])
