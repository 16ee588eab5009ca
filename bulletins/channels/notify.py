"""GOV.UK Notify through its official client: one recipient per call.

Notify sends from a template held in the Notify service: ours is one email template whose subject
is ``((subject))`` and whose body is ``((body))``; the rendered plain-text bulletin (Notify sends
its own HTML from plain text and markdown-like formatting) is the personalisation. Our one-click
URL goes as ``one_click_unsubscribe_url`` so Notify adds the RFC 8058 headers, and the Delivery id
as ``reference`` so delivery receipts name the row. Notify allows 3,000 messages a minute per
service: ``max_per_second`` tells the pipeline's shared throttle.
"""

from django.conf import settings
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient
from requests import RequestException

from bulletins.channels.base import FAILED, RETRY, SENT, OutgoingMessage, SendResult

NOTIFY_MESSAGES_PER_MINUTE = 3000


class NotifyChannel:
    max_batch = 100
    max_per_second = NOTIFY_MESSAGES_PER_MINUTE / 60

    def __init__(self):
        if not settings.NOTIFY_API_KEY or not settings.NOTIFY_TEMPLATE_ID:
            raise ValueError("BULLETIN_CHANNEL=notify needs NOTIFY_API_KEY and NOTIFY_TEMPLATE_ID")
        self.client = NotificationsAPIClient(settings.NOTIFY_API_KEY, base_url=settings.NOTIFY_BASE_URL, timeout=20)
        self.template_id = settings.NOTIFY_TEMPLATE_ID

    def send(self, messages: list[OutgoingMessage]) -> list[SendResult]:
        return [self._send_one(message) for message in messages]

    def _send_one(self, message: OutgoingMessage) -> SendResult:
        try:
            response = self.client.send_email_notification(
                email_address=message.to,
                template_id=self.template_id,
                personalisation={"subject": message.variant.subject, "body": message.text},
                reference=str(message.delivery_id),
                one_click_unsubscribe_url=message.merge.get("unsubscribe_url") or None,
            )
        except APIError as error:
            return self._refused(message, error)
        except RequestException as error:
            return SendResult(message.delivery_id, RETRY, f"GOV.UK Notify not reachable ({type(error).__name__})")
        return SendResult(message.delivery_id, SENT, provider_message_id=str(response.get("id", "")))

    @staticmethod
    def _refused(message: OutgoingMessage, error: APIError) -> SendResult:
        status = error.status_code
        if status == 400:
            # Notify's validation answer (bad address, team-only key): sending again cannot help.
            return SendResult(message.delivery_id, FAILED, f"GOV.UK Notify refused it: {error.message}"[:200])
        # 403 (key revoked or wrong) is kept for retry so an operator can fix the key without losing rows.
        return SendResult(message.delivery_id, RETRY, f"GOV.UK Notify answered HTTP {status}")
