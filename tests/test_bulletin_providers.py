"""Provider channels (anymail batch, GOV.UK Notify) and what providers tell us back.

ESPs and Notify are fakes on loopback (tests/provider_fakes.py), never the internet.
"""

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from bulletins.channels.base import FAILED, RETRY, SENT, OutgoingMessage
from bulletins.models import Bulletin, Delivery, Item
from bulletins.rendering import RenderedVariant
from consent.models import ConsentEvent, ConsentState, Suppression
from consent.selectors import contacts_reachable_for
from crm.models import Topic
from tests.provider_fakes import FakeMailgun, FakeNotify, free_loopback_port

WEBHOOK_SECRET = "hooks:s3cret-for-tests"
NOTIFY_TOKEN = "notify-callback-token-for-tests"
# Notify keys end with the service id and the secret, both UUIDs (the client splits them out).
NOTIFY_KEY = f"test_key-{uuid.uuid4()}-{uuid.uuid4()}"

VARIANT_A = RenderedVariant(
    subject="Sefton bulletin", preheader="", text="Hello. Unsubscribe: [[unsubscribe_url]]",
    html="<p>Hello. <a href=\"[[unsubscribe_url]]\">Unsubscribe</a></p>",
)
VARIANT_B = RenderedVariant(subject="Sefton bulletin", preheader="", text="Other items [[unsubscribe_url]]",
                            html="<p>Other [[unsubscribe_url]]</p>")


def outgoing(n, variant=VARIANT_A, *, start=1, plain=False):
    return [
        OutgoingMessage(
            delivery_id=start + i, to=f"reader{start + i}@example.org", variant=variant,
            merge={"unsubscribe_url": f"https://mynhs.test/unsubscribe/tok{start + i}"},
            plain_text_only=plain,
            headers={"List-Unsubscribe": f"<https://mynhs.test/unsubscribe/tok{start + i}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        for i in range(n)
    ]


# --- anymail batch channel --------------------------------------------------------------------

@override_settings(BULLETIN_ANYMAIL_BACKEND="anymail.backends.test.EmailBackend", BULLETIN_ESP_BATCH_LIMIT=500)
def test_anymail_channel_batches_per_variant_split_to_the_provider_limit():
    from bulletins.channels.anymail import AnymailChannel

    mail.outbox = []
    messages = outgoing(1200) + outgoing(30, VARIANT_B, start=5000) + outgoing(3, start=9000, plain=True)
    results = AnymailChannel().send(messages)

    # 1,200 in one variant -> 500 + 500 + 200; 30 in another -> 1; 3 plain-text-only -> 1.
    assert sorted(len(m.to) for m in mail.outbox) == [3, 30, 200, 500, 500]
    assert all(m.anymail_test_params["is_batch_send"] for m in mail.outbox)
    assert {r.outcome for r in results} == {SENT} and len(results) == 1233
    first = next(m for m in mail.outbox if "reader1@example.org" in m.to)
    params = first.anymail_test_params
    assert params["merge_data"]["reader1@example.org"]["unsubscribe_url"] == "https://mynhs.test/unsubscribe/tok1"
    assert params["merge_headers"]["reader1@example.org"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert params["merge_metadata"]["reader1@example.org"] == {"delivery_id": "1"}
    assert params["track_opens"] is False and params["track_clicks"] is False
    # The body carries the provider's merge syntax, not a recipient's link (one body for the batch).
    assert "{{unsubscribe_url}}" in first.body and "tok1" not in first.body
    plain = next(m for m in mail.outbox if "reader9000@example.org" in m.to)
    assert not getattr(plain, "alternatives", [])
    assert getattr(first, "alternatives", [])


@pytest.fixture
def fake_mailgun():
    with FakeMailgun() as server:
        anymail = {"MAILGUN_API_KEY": "key-test", "MAILGUN_SENDER_DOMAIN": "mg.example.org",
                   "MAILGUN_API_URL": f"{server.url}/v3", "WEBHOOK_SECRET": WEBHOOK_SECRET}
        with override_settings(ANYMAIL=anymail, BULLETIN_ANYMAIL_BACKEND="anymail.backends.mailgun.EmailBackend",
                               BULLETIN_ESP_BATCH_LIMIT=0):
            yield server


def test_mailgun_over_loopback_one_call_per_batch_with_recipient_variables(fake_mailgun):
    from bulletins.channels.anymail import AnymailChannel

    results = AnymailChannel().send(outgoing(3))
    assert [r.outcome for r in results] == [SENT, SENT, SENT]
    assert len(fake_mailgun.requests) == 1
    fields = fake_mailgun.requests[0]["fields"]
    assert len(fields["to"]) == 3
    variables = json.loads(fields["recipient-variables"][0])
    assert variables["reader2@example.org"]["unsubscribe_url"] == "https://mynhs.test/unsubscribe/tok2"
    assert "%recipient.unsubscribe_url%" in fields["text"][0]
    assert {r.provider_message_id for r in results} == {fake_mailgun.requests[0]["id"]}


@pytest.mark.parametrize(("status", "outcome"), [(503, RETRY), (429, RETRY), (400, FAILED)])
def test_mailgun_errors_retry_when_transient_and_fail_the_rows_when_permanent(fake_mailgun, status, outcome):
    from bulletins.channels.anymail import AnymailChannel

    fake_mailgun.fail_next(1, status)
    results = AnymailChannel().send(outgoing(2))
    assert [r.outcome for r in results] == [outcome, outcome]
    assert all(r.reason for r in results)


def test_provider_down_is_a_retry_never_sent():
    from bulletins.channels.anymail import AnymailChannel

    anymail = {"MAILGUN_API_KEY": "k", "MAILGUN_SENDER_DOMAIN": "mg.example.org",
               "MAILGUN_API_URL": f"http://127.0.0.1:{free_loopback_port()}/v3"}
    with override_settings(ANYMAIL=anymail, BULLETIN_ANYMAIL_BACKEND="anymail.backends.mailgun.EmailBackend"):
        results = AnymailChannel().send(outgoing(2))
    assert [r.outcome for r in results] == [RETRY, RETRY]


# --- GOV.UK Notify channel --------------------------------------------------------------------

@pytest.fixture
def fake_notify():
    with FakeNotify() as server, override_settings(
        NOTIFY_API_KEY=NOTIFY_KEY, NOTIFY_TEMPLATE_ID=str(uuid.uuid4()), NOTIFY_BASE_URL=server.url,
    ):
        yield server


def test_notify_one_call_per_recipient_with_our_one_click_url_and_reference(fake_notify):
    from bulletins.channels.notify import NotifyChannel

    results = NotifyChannel().send(outgoing(3))
    assert [r.outcome for r in results] == [SENT] * 3
    assert len(fake_notify.requests) == 3
    first = fake_notify.requests[0]
    assert first["email_address"] == "reader1@example.org"
    assert first["reference"] == "1"
    assert first["one_click_unsubscribe_url"] == "https://mynhs.test/unsubscribe/tok1"
    assert first["personalisation"]["body"] == "Hello. Unsubscribe: https://mynhs.test/unsubscribe/tok1"
    assert [r.provider_message_id for r in results] == [r["id"] for r in fake_notify.requests]
    assert NotifyChannel.max_per_second * 60 == 3000


def test_notify_validation_error_fails_the_row_and_server_error_retries(fake_notify):
    from bulletins.channels.notify import NotifyChannel

    fake_notify.fail_next(1, 400)
    fake_notify.fail_next(1, 500)
    results = NotifyChannel().send(outgoing(3))
    assert [r.outcome for r in results] == [FAILED, RETRY, SENT]
    assert "Notify" in results[0].reason


# --- provider events: webhooks and receipts -----------------------------------------------------

@pytest.fixture
def sent_delivery(db, make_contact, staff_user):
    contact = make_contact(email="Reader@Example.org")
    author = staff_user("Communications")
    bulletin = Bulletin.objects.create(subject="October news", created_by=author, status=Bulletin.Status.SENT)
    Item.objects.create(bulletin=bulletin, position=1, title="Flu jabs", body_markdown="Book now",
                        topic=Topic.objects.first())
    return Delivery.objects.create(bulletin=bulletin, contact=contact, status=Delivery.Status.SENT,
                                   provider_message_id="pm-123")


def postmark_post(client, payload, secret=WEBHOOK_SECRET):
    auth = base64.b64encode(secret.encode()).decode()
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": WEBHOOK_SECRET}):
        return client.post("/anymail/postmark/tracking/", data=json.dumps(payload), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Basic {auth}")


def test_webhook_without_the_right_secret_is_refused_and_changes_nothing(client, sent_delivery):
    response = postmark_post(client, {"RecordType": "SpamComplaint", "MessageID": "pm-123",
                                      "Email": "reader@example.org"}, secret="hooks:wrong")
    assert response.status_code == 400
    sent_delivery.refresh_from_db()
    assert sent_delivery.provider_status == ""
    assert not Suppression.objects.exists()


def test_complaint_webhook_suppresses_records_consent_event_and_person_is_unreachable(client, sent_delivery):
    contact = sent_delivery.contact
    assert contacts_reachable_for(purpose="bulletin").filter(pk=contact.pk).exists()
    # A complaint arrives after the send, so after the consent the person gave.
    response = postmark_post(client, {
        "RecordType": "SpamComplaint", "MessageID": "pm-123", "Email": "reader@example.org",
        "BouncedAt": timezone.now().isoformat(), "Metadata": {"delivery_id": str(sent_delivery.pk)},
    })
    assert response.status_code == 200
    sent_delivery.refresh_from_db()
    assert sent_delivery.provider_status == Delivery.ProviderStatus.COMPLAINED
    assert Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True,
                                      reason=Suppression.Reason.COMPLAINT).exists()
    assert ConsentEvent.objects.filter(contact=contact, method=ConsentEvent.Method.COMPLAINT,
                                       action=ConsentEvent.Action.WITHDRAWN).exists()
    assert ConsentState.objects.get(contact=contact, purpose__code="bulletin").status == "withdrawn"
    assert not contacts_reachable_for(purpose="bulletin").filter(pk=contact.pk).exists()


def test_hard_bounce_webhook_suppresses_and_delivered_later_does_not_hide_it(client, sent_delivery):
    postmark_post(client, {"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "pm-123",
                           "Email": "reader@example.org", "BouncedAt": "2026-11-30T10:00:00Z"})
    postmark_post(client, {"RecordType": "Delivery", "MessageID": "pm-123", "Recipient": "reader@example.org",
                           "DeliveredAt": "2026-11-30T10:05:00Z"})
    sent_delivery.refresh_from_db()
    assert sent_delivery.provider_status == Delivery.ProviderStatus.BOUNCED
    assert Suppression.objects.filter(address_hash=sent_delivery.contact.email_hash,
                                      reason=Suppression.Reason.HARD_BOUNCE, lifted_at__isnull=True).exists()


def test_bounce_for_an_address_that_is_no_bulletin_recipient_still_suppresses(client, db):
    postmark_post(client, {"RecordType": "Bounce", "Type": "HardBounce", "MessageID": "unknown-id",
                           "Email": "stranger@example.net", "BouncedAt": "2026-11-30T10:00:00Z"})
    from crm.normalise import address_hash

    assert Suppression.objects.filter(address_hash=address_hash("stranger@example.net")).exists()


def notify_post(client, payload, token=NOTIFY_TOKEN):
    with override_settings(NOTIFY_CALLBACK_TOKEN=NOTIFY_TOKEN):
        return client.post("/provider/notify/receipts/", data=json.dumps(payload), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")


def test_notify_receipt_needs_the_bearer_token_and_none_configured_refuses_all(client, sent_delivery):
    body = {"id": "pm-123", "reference": str(sent_delivery.pk), "to": "reader@example.org",
            "status": "permanent-failure", "completed_at": "2026-11-30T10:00:00.000000Z"}
    assert notify_post(client, body, token="wrong").status_code == 401
    with override_settings(NOTIFY_CALLBACK_TOKEN=""):
        response = client.post("/provider/notify/receipts/", data=json.dumps(body), content_type="application/json",
                               HTTP_AUTHORIZATION="Bearer ")
    assert response.status_code == 401
    assert not Suppression.objects.exists()


def test_notify_permanent_failure_bounces_and_suppresses(client, sent_delivery):
    body = {"id": "pm-123", "reference": str(sent_delivery.pk), "to": "reader@example.org",
            "status": "permanent-failure", "completed_at": "2026-11-30T10:00:00.000000Z"}
    assert notify_post(client, body).status_code == 204
    sent_delivery.refresh_from_db()
    assert sent_delivery.provider_status == Delivery.ProviderStatus.BOUNCED
    assert sent_delivery.provider_status_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert not contacts_reachable_for(purpose="bulletin").filter(pk=sent_delivery.contact_id).exists()


@override_settings(BULLETIN_SOFT_BOUNCE_LIMIT=3)
def test_soft_bounces_count_and_suppress_only_after_three_in_a_row(client, sent_delivery):
    contact, author = sent_delivery.contact, sent_delivery.bulletin.created_by
    deliveries = [sent_delivery]
    for n in range(2):
        bulletin = Bulletin.objects.create(subject=f"Issue {n}", created_by=author, status=Bulletin.Status.SENT)
        deliveries.append(Delivery.objects.create(bulletin=bulletin, contact=contact, status=Delivery.Status.SENT,
                                                  provider_message_id=f"pm-{n}"))
    for number, delivery in enumerate(deliveries, start=1):
        notify_post(client, {"id": delivery.provider_message_id, "reference": str(delivery.pk),
                             "to": "reader@example.org", "status": "temporary-failure"})
        suppressed = Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True).exists()
        assert suppressed is (number == 3), number
    deliveries[0].refresh_from_db()
    assert deliveries[0].soft_bounces == 1


def test_notify_complaint_callback_suppresses(client, sent_delivery):
    body = {"notification_id": "pm-123", "complaint_id": str(uuid.uuid4()), "reference": str(sent_delivery.pk),
            "to": "reader@example.org", "complaint_date": "2026-11-30T10:00:00.000000Z"}
    assert notify_post(client, body).status_code == 204
    sent_delivery.refresh_from_db()
    assert sent_delivery.provider_status == Delivery.ProviderStatus.COMPLAINED
    assert Suppression.objects.filter(address_hash=sent_delivery.contact.email_hash,
                                      reason=Suppression.Reason.COMPLAINT).exists()
