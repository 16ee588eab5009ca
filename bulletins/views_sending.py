"""Staff pages for a send in progress: progress (HTML, and JSON for the live bar), pause, resume, cancel,
and the final report. Thin: selectors read, bulletins.sending services write and refuse."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bulletins import sending
from bulletins.models import Bulletin
from bulletins.scheduling import describe_instant
from bulletins.selectors import send_progress, send_report
from crm.audit import actor_from_request
from crm.staff.access import staff_view

VIEW, SEND = "bulletins.view_bulletin", "bulletins.send_bulletin"
LIVE = (Bulletin.Status.SENDING, Bulletin.Status.PAUSED)
STARTED = (*LIVE, Bulletin.Status.SENT, Bulletin.Status.FAILED, Bulletin.Status.CANCELLED)


def _started_bulletin(public_id) -> Bulletin:
    return get_object_or_404(Bulletin, public_id=public_id, status__in=STARTED)


def _rate_per_minute(progress) -> int:
    return round(progress.rate_per_second * 60)


def progress_summary(bulletin: Bulletin, progress) -> str:
    """One sentence for people and screen readers, e.g. "4,500 of 20,000 done (22%)"."""
    return f"{progress.done:,} of {progress.total:,} done ({progress.percent}%)"


@staff_view(VIEW)
def progress(request, public_id):
    bulletin = _started_bulletin(public_id)
    state = send_progress(bulletin=bulletin)
    return render(request, "bulletins/staff/progress.html", {
        "bulletin": bulletin, "progress": state, "summary": progress_summary(bulletin, state),
        "rate_per_minute": _rate_per_minute(state), "live": bulletin.status in LIVE,
        "report": send_report(bulletin=bulletin),
        "can_send": request.user.has_perm(SEND),
    })


@staff_view(VIEW)
def progress_json(request, public_id):
    bulletin = _started_bulletin(public_id)
    state = send_progress(bulletin=bulletin)
    return JsonResponse({
        "status": bulletin.status,
        "status_label": bulletin.get_status_display(),
        "live": bulletin.status in LIVE,
        "counts": state.counts,
        "total": state.total,
        "done": state.done,
        "percent": state.percent,
        "rate_per_minute": _rate_per_minute(state),
        "estimated_finish": describe_instant(state.estimated_finish) if state.estimated_finish else "",
        "summary": progress_summary(bulletin, state),
    })


def _act(request, public_id, action, done_message: str):
    bulletin = _started_bulletin(public_id)
    try:
        action(bulletin=bulletin, actor=actor_from_request(request))
    except sending.SendRefused as refused:
        messages.error(request, str(refused))
    except PermissionDenied:
        raise
    else:
        messages.success(request, done_message)
    return redirect("bulletins:progress", public_id=bulletin.public_id)


@staff_view(VIEW, SEND)
@require_POST
def pause(request, public_id):
    return _act(request, public_id, sending.pause_send,
                "Sending is paused. Nobody else will be sent it until you resume.")


@staff_view(VIEW, SEND)
@require_POST
def resume(request, public_id):
    return _act(request, public_id, sending.resume_send, "Sending again, from where it stopped.")


@staff_view(VIEW, SEND)
def cancel(request, public_id):
    """GET asks to confirm; POST cancels."""
    bulletin = _started_bulletin(public_id)
    if request.method == "POST":
        return _act(request, public_id, sending.cancel_send,
                    "Sending is cancelled. People not yet sent it will not get it.")
    return render(request, "bulletins/staff/progress_cancel.html", {
        "bulletin": bulletin, "progress": send_progress(bulletin=bulletin)})
