"""GOV.UK Notify's delivery-receipt and complaint callbacks.

Notify presents the bearer token we gave it when setting up the callback. Without a configured
token the endpoint refuses everything (like anymail's webhooks, which we also refuse to run
without a secret in production), so nobody can forge a bounce and suppress someone.
"""

import json
import secrets

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bulletins.provider_events import from_notify_receipt, record_provider_event
from crm.audit import Actor

NOTIFY_ACTOR = Actor(label="provider:govuk_notify")


def _bearer_ok(request) -> bool:
    expected = settings.NOTIFY_CALLBACK_TOKEN
    given = request.headers.get("Authorization", "")
    return bool(expected) and secrets.compare_digest(given.encode(), f"Bearer {expected}".encode())


@csrf_exempt
@require_POST
def notify_receipt(request):
    if not _bearer_ok(request):
        return JsonResponse({"detail": "Missing or wrong bearer token"}, status=401)
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"detail": "Body must be JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"detail": "Body must be a JSON object"}, status=400)
    event = from_notify_receipt(payload)
    if event is not None:
        record_provider_event(event=event, actor=NOTIFY_ACTOR)
    return HttpResponse(status=204)
