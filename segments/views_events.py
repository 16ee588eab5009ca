"""Staff pages for events: list, create and change, the event page with its invitations, and attendance.

Thin: forms check what was typed, ``segments.events`` writes (London times, capacity, all-or-nothing uploads).
"""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from crm.audit import actor_from_request
from crm.forms import add_service_errors
from crm.staff.access import staff_view
from segments import events
from segments.forms import AttendanceUploadForm, EventForm, WalkInForm
from segments.models import Event, Invitation

VIEW, ADD, CHANGE = "segments.view_event", "segments.add_event", "segments.change_event"
VIEW_INVITATIONS, CHANGE_INVITATIONS = "segments.view_invitation", "segments.change_invitation"


def _event(public_id) -> Event:
    return get_object_or_404(Event.objects.select_related("locality"), public_id=public_id)


@staff_view(VIEW)
def event_list(request):
    now = timezone.now()
    rows = Event.objects.select_related("locality")
    return render(request, "segments/events/list.html", {
        "upcoming": rows.filter(ends_at__gte=now).order_by("starts_at")[:200],
        "past": rows.filter(ends_at__lt=now).order_by("-starts_at")[:200],
    })


@staff_view(VIEW, ADD)
def event_new(request):
    return _event_form(request, event=None)


@staff_view(VIEW, CHANGE)
def event_edit(request, public_id):
    return _event_form(request, event=_event(public_id))


def _event_form(request, *, event):
    initial = EventForm.initial_for(event) if event else {"kind": Event.Kind.BIG_CHAT}
    form = EventForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        topics = values.pop("topics")
        try:
            saved = events.save_event(actor=actor_from_request(request), event=event, topics=topics, **values)
        except ValidationError as error:
            _add_event_errors(form, error)
        else:
            messages.success(request, f"Event “{saved.title}” saved.")
            return redirect("segments:event_detail", public_id=saved.public_id)
    return render(request, "segments/events/form.html", {"form": form, "event": event})


def _add_event_errors(form, error: ValidationError) -> None:
    """The service names model fields (starts_at, ends_at); the form asks for a date and two times."""
    if hasattr(error, "error_dict"):
        renamed = {"starts_at": "starts", "ends_at": "ends"}
        error = ValidationError({renamed.get(k, k): v for k, v in error.error_dict.items()})
    elif any("UK time" in m for m in error.messages):
        error = ValidationError({"starts": error.messages})  # a time the clocks skip
    add_service_errors(form, error)


@staff_view(VIEW)
def event_detail(request, public_id):
    event = _event(public_id)
    invitations = list(event.invitations.select_related("contact", "contact__locality").order_by("contact__name"))
    return render(request, "segments/events/detail.html", {
        "event": event, "counts": event_counts(invitations), "invitations": invitations,
        "topics": event.topics.order_by("name"),
        "public_url": request.build_absolute_uri(reverse("segments:public_event", args=[event.public_id])),
    })


def event_counts(invitations) -> dict:
    answers = Counter(i.response for i in invitations if not (i.response == "yes" and i.waiting_list))
    return {
        "invited": sum(1 for i in invitations if i.source != Invitation.Source.WALK_IN),
        "yes": answers["yes"], "no": answers["no"], "maybe": answers["maybe"], "no_answer": answers[""],
        "waiting": sum(1 for i in invitations if i.response == "yes" and i.waiting_list),
        "attended": sum(1 for i in invitations if i.attended),
    }


@staff_view(VIEW, CHANGE_INVITATIONS)
def event_register(request, public_id):
    event = _event(public_id)
    invitations = list(event.invitations.select_related("contact").order_by("contact__name"))
    if request.method == "POST":
        known = {i.contact_id for i in invitations}
        ticked = {int(v) for v in request.POST.getlist("attended") if v.isdigit() and int(v) in known}
        count = events.record_register(event=event, attended_contact_ids=ticked, actor=actor_from_request(request))
        messages.success(request, f"Register saved: {count} {'person' if count == 1 else 'people'} came.")
        return redirect("segments:event_detail", public_id=event.public_id)
    return render(request, "segments/events/register.html", {"event": event, "invitations": invitations})


@staff_view(VIEW, CHANGE_INVITATIONS)
def event_walk_in(request, public_id):
    event = _event(public_id)
    form = WalkInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = events.add_walk_in(event=event, email=form.cleaned_data["email"],
                                            actor=actor_from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{invitation.contact.name} is recorded as having come.")
            return redirect("segments:event_detail", public_id=event.public_id)
    return render(request, "segments/events/walk_in.html", {"event": event, "form": form})


@staff_view(VIEW, CHANGE_INVITATIONS)
def event_attendance_upload(request, public_id):
    event = _event(public_id)
    form = AttendanceUploadForm(request.POST or None, request.FILES or None) if request.method == "POST" \
        else AttendanceUploadForm()
    result = None
    if request.method == "POST" and form.is_valid():
        result = events.upload_attendance(event=event, content=form.cleaned_data["file"].read(),
                                          actor=actor_from_request(request))
        if not result.rejected:
            messages.success(request, f"Attendance recorded for {result.matched} "
                                      f"{'person' if result.matched == 1 else 'people'}.")
            return redirect("segments:event_detail", public_id=event.public_id)
        form.add_error("file", f"Nothing was recorded: {len(result.rejected)} "
                               f"line{'' if len(result.rejected) == 1 else 's'} of the file need correcting")
    return render(request, "segments/events/attendance_upload.html", {"event": event, "form": form,
                                                                      "result": result})
