"""Staff pages for engagement activities: list (filters, sort), create, change, the activity page with its
participant numbers, status buttons, headcounts, named participants and linked events.

Thin: forms check what was typed; ``segments.activities`` / ``segments.activity_evidence`` write and hold
the edit policy. Pages that change an activity load it through ``activities.activity_for_edit``, so a
Commissioner gets 403 for another lead's activity here exactly as the services (and the API) refuse it.
Named participants' names are shown, and can be added, only by staff who may see contacts.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.audit import actor_from_request
from crm.forms import add_service_errors
from crm.staff.access import staff_view
from segments import activities, activity_evidence
from segments.forms_activities import (
    ActivityFilterForm,
    ActivityForm,
    EventLinksForm,
    HeadcountForm,
    ParticipantForm,
    StatusForm,
)
from segments.models import Activity, ActivityHeadcount, ActivityParticipant

VIEW, ADD, CHANGE = activities.VIEW, activities.ADD, activities.CHANGE
SEE_NAMES = activities.SEE_PARTICIPANT_NAMES
LIST_LIMIT = 500

STATUS_BUTTONS = {
    # (from, to): the button's words
    ("planned", "in_progress"): "Start: mark as in progress",
    ("in_progress", "completed"): "Mark as completed",
    ("in_progress", "planned"): "Move back to planned",
    ("completed", "in_progress"): "Reopen: mark as in progress",
}


def _activity(pk) -> Activity:
    return get_object_or_404(Activity.objects.select_related("programme", "lead"), pk=pk)


def _editable(request, pk) -> Activity:
    try:
        return activities.activity_for_edit(request.user, pk)
    except Activity.DoesNotExist as missing:
        raise Http404 from missing


@staff_view(VIEW)
def activity_list(request):
    form = ActivityFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound and form.is_valid() else {}
    sort = request.GET.get("sort", "-updated")
    if sort.lstrip("-") not in activities.SORTS:
        sort = "-updated"
    rows = activities.filter_activities(activities.activities_visible_to(request.user), sort=sort, **filters)
    rows = list(rows.prefetch_related("localities")[:LIST_LIMIT + 1])
    return render(request, "segments/activities/list.html", {
        "form": form, "rows": rows[:LIST_LIMIT], "more": len(rows) > LIST_LIMIT, "sort": sort,
        "filtered": bool(filters), "columns": _sort_columns(sort),
    })


def _sort_columns(sort: str) -> list[dict]:
    """The table headings that sort: the link each gives and its aria-sort state."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for name, label in (("title", "Activity"), ("programme", "Programme"), ("status", "Status"),
                        ("starts", "Dates"), ("updated", "Last changed")):
        current = key == name
        columns.append({"key": name, "label": label,
                        "aria_sort": ("descending" if descending else "ascending") if current else "none",
                        "next": f"-{name}" if current and not descending else name})
    return columns


@staff_view(VIEW, ADD)
def activity_new(request):
    form = ActivityForm(request.POST if request.method == "POST" else None, user=request.user,
                        initial={"lead": request.user.pk})
    if request.method == "POST" and form.is_valid():
        values, many = form.service_values()
        try:
            activity = activities.create_activity(actor=actor_from_request(request), **values, **many)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Activity “{activity.title}” added.")
            return redirect("segments:activity_detail", pk=activity.pk)
    return render(request, "segments/activities/form.html", {"form": form, "activity": None})


@staff_view(VIEW, CHANGE)
def activity_edit(request, pk):
    activity = _editable(request, pk)
    form = ActivityForm(request.POST if request.method == "POST" else None, user=request.user, activity=activity,
                        initial=ActivityForm.initial_for(activity))
    if request.method == "POST" and form.is_valid():
        values, many = form.service_values()
        try:
            activity = activities.update_activity(activity=activity, actor=actor_from_request(request),
                                                  **values, **many)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Activity “{activity.title}” saved.")
            return redirect("segments:activity_detail", pk=activity.pk)
    return render(request, "segments/activities/form.html", {"form": form, "activity": activity})


@staff_view(VIEW)
def activity_detail(request, pk):
    activity = _activity(pk)
    can_edit = activities.can_edit(request.user, activity)
    see_names = activities.can_see_participant_names(request.user)
    participants = []
    if see_names:
        participants = list(activity.participants.select_related("contact").order_by("contact__name")[:500])
    return render(request, "segments/activities/detail.html", {
        "activity": activity, "can_edit": can_edit, "see_names": see_names,
        "numbers": activities.participant_numbers(activity),
        "headcounts": list(activity.headcounts.select_related("locality")),
        "participants": participants,
        "linked_events": list(activity.events.select_related("locality").order_by("-starts_at")),
        "followers": list(activity.followers.order_by("first_name", "last_name")),
        "topics": list(activity.topics.order_by("name")), "localities": list(activity.localities.order_by("name")),
        "groups": [label for code, label in activities.EXPECTED_AFFECTED_GROUPS
                   if code in activity.groups_expected_affected],
        "status_buttons": [(to, STATUS_BUTTONS[(activity.status, to)])
                           for to in activities.allowed_transitions(activity)] if can_edit else [],
    })


@staff_view(VIEW, CHANGE)
@require_POST
def activity_status(request, pk):
    activity = _editable(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the new status.")
        return redirect("segments:activity_detail", pk=activity.pk)
    try:
        activity = activities.change_status(activity=activity, status=form.cleaned_data["status"],
                                            actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{activity.title}” is now {activity.get_status_display().lower()}. "
                                  "Its lead and followers have been emailed.")
    return redirect("segments:activity_detail", pk=activity.pk)


@staff_view(VIEW, CHANGE)
def activity_headcount_add(request, pk):
    activity = _editable(request, pk)
    form = HeadcountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            headcount = activity_evidence.add_headcount(
                activity=activity, actor=actor_from_request(request), label=form.cleaned_data["label"],
                count=form.cleaned_data["count"], locality=form.cleaned_data["locality"],
                equality_breakdown=form.breakdown())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Added {headcount.count} {'person' if headcount.count == 1 else 'people'} "
                                      f"({headcount.label}).")
            return redirect("segments:activity_detail", pk=activity.pk)
    return render(request, "segments/activities/headcount_form.html", {"form": form, "activity": activity})


@staff_view(VIEW, CHANGE)
@require_POST
def activity_headcount_remove(request, pk, headcount_id):
    activity = _editable(request, pk)
    headcount = get_object_or_404(ActivityHeadcount, pk=headcount_id, activity=activity)
    activity_evidence.remove_headcount(headcount=headcount, actor=actor_from_request(request))
    messages.success(request, f"Removed the headcount “{headcount.label}”.")
    return redirect("segments:activity_detail", pk=activity.pk)


@staff_view(VIEW, CHANGE, SEE_NAMES)
def activity_participant_add(request, pk):
    activity = _editable(request, pk)
    form = ParticipantForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = activity_evidence.find_contact_by_email(form.cleaned_data["email"])
            if contact is None:
                raise ValidationError({"email": "No contact has this email address. Add them as a contact "
                                                "first, with their consent."})
            _row, created = activity_evidence.add_participant(activity=activity, contact=contact,
                                                              actor=actor_from_request(request))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{contact.name} {'is now recorded' if created else 'was already recorded'} "
                                      "as taking part.")
            return redirect("segments:activity_detail", pk=activity.pk)
    return render(request, "segments/activities/participant_form.html", {"form": form, "activity": activity})


@staff_view(VIEW, CHANGE, SEE_NAMES)
@require_POST
def activity_participant_remove(request, pk, participant_id):
    activity = _editable(request, pk)
    participant = get_object_or_404(ActivityParticipant.objects.select_related("contact"), pk=participant_id,
                                    activity=activity)
    activity_evidence.remove_participant(participant=participant, actor=actor_from_request(request))
    messages.success(request, f"{participant.contact.name} is no longer recorded as taking part.")
    return redirect("segments:activity_detail", pk=activity.pk)


@staff_view(VIEW, CHANGE)
def activity_events(request, pk):
    activity = _editable(request, pk)
    linked = set(activity.events.values_list("pk", flat=True))
    form = EventLinksForm(request.POST if request.method == "POST" else None, activity=activity,
                          initial={"events": list(linked)})
    if request.method == "POST" and form.is_valid():
        actor = actor_from_request(request)
        chosen = {event.pk: event for event in form.cleaned_data["events"]}
        offered = {event.pk: event for event in form.fields["events"].queryset}
        for event_id in sorted(set(chosen) - linked):
            activity_evidence.link_event(activity=activity, event=chosen[event_id], actor=actor)
        for event_id in sorted(linked - set(chosen)):
            if event_id in offered:
                activity_evidence.unlink_event(activity=activity, event=offered[event_id], actor=actor)
        messages.success(request, "Linked events saved.")
        return redirect("segments:activity_detail", pk=activity.pk)
    return render(request, "segments/activities/events_form.html", {"form": form, "activity": activity})
