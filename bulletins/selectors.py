"""Reads about a bulletin's send: progress while it goes, the report after."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from bulletins.models import Bulletin, Comment, Delivery
from consent.models import ConsentEvent

Status = Delivery.Status
DONE = (Status.SENT, Status.FAILED, Status.SKIPPED, Status.CANCELLED)
RATE_WINDOW = timedelta(seconds=60)


def status_counts(*, bulletin_id: int) -> dict[str, int]:
    """Delivery rows by status, every status present (0 when none)."""
    rows = (Delivery.objects.filter(bulletin_id=bulletin_id).order_by().values_list("status")
            .annotate(n=Count("id")))
    counts = dict.fromkeys(Status.values, 0)
    counts.update(dict(rows))
    return counts


def _with_erased(counts: dict[str, int], erased: dict, prefix: str) -> dict[str, int]:
    """Add the anonymous counts kept for recipients erased since (Bulletin.erased_counts, "<prefix><key>")."""
    return {key: n + int(erased.get(f"{prefix}{key}", 0)) for key, n in counts.items()}


@dataclass(frozen=True)
class SendProgress:
    counts: dict[str, int]
    total: int
    done: int
    percent: int
    rate_per_second: float  # messages handed over per second, over the last minute
    remaining: int
    estimated_finish: datetime | None

    @property
    def in_flight(self) -> int:
        return self.counts[Status.SENDING]


def recent_rate(*, bulletin: Bulletin, now: datetime) -> float:
    if bulletin.send_started_at is None:
        return 0.0
    since = max(now - RATE_WINDOW, bulletin.send_started_at)
    seconds = (now - since).total_seconds()
    if seconds <= 0:
        return 0.0
    recent = Delivery.objects.filter(bulletin_id=bulletin.pk, status=Status.SENT, sent_at__gte=since).count()
    return recent / seconds


def send_progress(*, bulletin: Bulletin, now: datetime | None = None) -> SendProgress:
    now = now or timezone.now()
    counts = _with_erased(status_counts(bulletin_id=bulletin.pk), bulletin.erased_counts or {}, "deliveries_")
    total = sum(counts.values())
    done = sum(counts[s] for s in DONE)
    remaining = total - done
    rate = recent_rate(bulletin=bulletin, now=now) if bulletin.status == Bulletin.Status.SENDING else 0.0
    finish = now + timedelta(seconds=remaining / rate) if rate > 0 and remaining else None
    percent = int(done * 100 / total) if total else 0
    return SendProgress(counts=counts, total=total, done=done, percent=percent, rate_per_second=rate,
                        remaining=remaining, estimated_finish=finish)


def reasons(*, bulletin_id: int, status: str) -> list[tuple[str, int]]:
    """Each distinct reason with its count, most common first."""
    rows = (Delivery.objects.filter(bulletin_id=bulletin_id, status=status).order_by().values_list("reason")
            .annotate(n=Count("id")).order_by("-n", "reason"))
    return [(reason or "No reason recorded", n) for reason, n in rows]


@dataclass(frozen=True)
class SendReport:
    counts: dict[str, int]
    failed_reasons: list[tuple[str, int]]
    skipped_reasons: list[tuple[str, int]]
    cancelled_reasons: list[tuple[str, int]]
    provider_counts: dict[str, int]  # delivered, soft_bounced, bounced, complained
    unsubscribes: int
    unsubscribe_days: int
    comments: dict[str, int]  # pending, approved, rejected, total
    erased_people: int  # recipients erased since; their anonymous counts are in the figures


def unsubscribes_caused(*, bulletin: Bulletin, days: int) -> int:
    """People sent this bulletin who used one-click unsubscribe within ``days`` after it reached them."""
    if bulletin.send_started_at is None:
        return 0
    received = Delivery.objects.filter(bulletin_id=bulletin.pk, status=Status.SENT, contact_id=OuterRef("contact_id"),
                                       sent_at__lte=OuterRef("occurred_at"))
    events = ConsentEvent.objects.filter(
        purpose__code="bulletin", action=ConsentEvent.Action.WITHDRAWN,
        method=ConsentEvent.Method.ONE_CLICK_UNSUBSCRIBE,
        occurred_at__gte=bulletin.send_started_at, occurred_at__lt=bulletin.send_started_at + timedelta(days=days),
    ).filter(Exists(received))
    return events.values("contact_id").distinct().count()


def comment_counts(*, bulletin_id: int) -> dict[str, int]:
    rows = dict(Comment.objects.filter(item__bulletin_id=bulletin_id).order_by().values_list("status")
                .annotate(n=Count("id")))
    return {status: rows.get(status, 0) for status in Comment.Status.values}


def send_report(*, bulletin: Bulletin) -> SendReport:
    provider = dict(Delivery.objects.filter(bulletin_id=bulletin.pk).exclude(provider_status="").order_by()
                    .values_list("provider_status").annotate(n=Count("id")))
    erased = bulletin.erased_counts or {}
    comments = _with_erased(comment_counts(bulletin_id=bulletin.pk), erased, "comments_")
    comments["total"] = sum(comments.values())
    days = settings.BULLETIN_REPORT_UNSUBSCRIBE_DAYS
    return SendReport(
        counts=_with_erased(status_counts(bulletin_id=bulletin.pk), erased, "deliveries_"),
        failed_reasons=reasons(bulletin_id=bulletin.pk, status=Status.FAILED),
        skipped_reasons=reasons(bulletin_id=bulletin.pk, status=Status.SKIPPED),
        cancelled_reasons=reasons(bulletin_id=bulletin.pk, status=Status.CANCELLED),
        provider_counts=_with_erased({s: provider.get(s, 0) for s in Delivery.ProviderStatus.values if s},
                                     erased, "provider_"),
        unsubscribes=unsubscribes_caused(bulletin=bulletin, days=days),
        unsubscribe_days=days,
        comments=comments,
        erased_people=int(erased.get("deliveries", 0)),
    )
