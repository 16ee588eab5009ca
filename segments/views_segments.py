"""Staff pages for segments: the list, the rule builder (with its count and sample), and its live count.

Thin: the builder form reads the rows, ``segments.selectors`` counts and refuses protected
characteristics to staff without the equality permission (a 403), ``segments.services`` saves.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crm.audit import actor_from_request
from crm.forms import add_service_errors
from crm.staff.access import staff_view
from segments import selectors, services
from segments.forms import SegmentDetailsForm
from segments.rule_builder import Builder, Node, fields_for, operators_for, value_choices, value_kind
from segments.rules import FIELD_LABELS, FIELDS, RulesInvalid

VIEW, ADD, CHANGE, EXPORT = ("segments.view_segment", "segments.add_segment", "segments.change_segment",
                             "segments.export_segment")
VIEW_CONTACT = "crm.view_contact"


def _segment(request, segment_id):
    return get_object_or_404(selectors.segments_visible_to(request.user), pk=segment_id)


def count_sentence(count: selectors.SegmentCount) -> str:
    """ "1,204 people match; 980 can be invited to events now; 1,010 can be sent the e-bulletin" """
    matching = f"{count.matching:,} {'person matches' if count.matching == 1 else 'people match'}"
    return (f"{matching}; {count.reachable_for_events:,} can be invited to events now; "
            f"{count.reachable_for_bulletin:,} can be sent the e-bulletin")


@staff_view(VIEW)
def segment_list(request):
    segments = list(selectors.segments_visible_to(request.user).order_by("name")[:500])
    counted = None
    if request.method == "POST" and request.POST.get("count", "").isdigit():
        segment = _segment(request, int(request.POST["count"]))
        counted = (segment.pk, count_sentence(selectors.count_segment(
            rules=segment.rules, actor=actor_from_request(request), segment=segment)))
    return render(request, "segments/segments/list.html", {"segments": segments, "counted": counted})


@staff_view(VIEW, ADD)
def segment_new(request):
    return _builder_page(request, segment=None)


@staff_view(VIEW)
def segment_edit(request, segment_id):
    return _builder_page(request, segment=_segment(request, segment_id))


def _builder_page(request, *, segment):
    actor = actor_from_request(request)
    if request.method == "POST":
        details, builder = SegmentDetailsForm(request.POST), Builder.from_post(request.POST)
        action = request.POST.get("action") or "count"
    else:
        initial = {"name": segment.name, "description": segment.description} if segment else None
        details = SegmentDetailsForm(initial=initial)
        builder = Builder.from_rules(segment.rules) if segment else Builder(nodes=[Node()])
        builder.number()
        action = "count" if segment else ""
    if action == "save" and not request.user.has_perm(CHANGE if segment else ADD):
        raise PermissionDenied
    count = sample = None
    if not builder.apply(action) and action in ("count", "save"):
        count, sample = _count_and_sample(request, builder, segment)
        if action == "save" and count is not None and details.is_valid():
            saved = _save(details, builder, segment, actor)
            if saved is not None:
                messages.success(request, f"Segment “{saved.name}” saved.")
                return redirect("segments:segment_edit", segment_id=saved.pk)
    elif action == "save":
        details.is_valid()
    return render(request, "segments/segments/builder.html", {
        "segment": segment, "details": details, "builder": builder, "count": count, "sample": sample,
        "may_save": request.user.has_perm(CHANGE if segment else ADD),
        **builder_choices(request.user, builder),
    }, status=200)


def _count_and_sample(request, builder, segment):
    """The count (and a sample, for staff who may see contacts) of complete, valid rules; else errors on rows."""
    if not builder.check_complete():
        return None, None
    rules, actor = builder.to_rules(), actor_from_request(request)
    try:
        count = selectors.count_segment(rules=rules, actor=actor, segment=segment)
        sample = (selectors.preview_segment(rules=rules, actor=actor, segment=segment)
                  if request.user.has_perm(VIEW_CONTACT) else None)
    except RulesInvalid as error:
        builder.show_errors(error)
        return None, None
    return count_sentence(count), sample


def _save(details, builder, segment, actor):
    values = {"name": details.cleaned_data["name"], "description": details.cleaned_data["description"],
              "rules": builder.to_rules(), "actor": actor}
    try:
        if segment is None:
            return services.create_segment(**values)
        return services.update_segment(segment=segment, **values)
    except RulesInvalid as error:
        builder.show_errors(error)
    except ValidationError as error:
        add_service_errors(details, error)
    return None


def builder_choices(user, builder) -> dict:
    """What the template needs to draw each row: fields, each used field's operators and values."""
    used = {n.field for n in builder.all_nodes() if n.field in FIELDS}
    return {
        "field_choices": fields_for(user),
        "operators": {name: operators_for(name) for name in used},
        "values": {name: value_choices(name) for name in used},
        "value_kinds": {name: value_kind(name) for name in used},
        "field_labels": FIELD_LABELS,
    }


@staff_view(VIEW)
@require_POST
def segment_count_json(request):
    """The live count: the builder's own form fields in, the count sentence out (CSRF-protected POST)."""
    builder = Builder.from_post(request.POST)
    if not builder.check_complete():
        return JsonResponse({"ok": False, "summary": "Finish the conditions (or press “Update the form” after "
                                                     "changing what a condition is about) to see a count."})
    try:
        count = selectors.count_segment(rules=builder.to_rules(), actor=actor_from_request(request))
    except RulesInvalid:
        return JsonResponse({"ok": False, "summary": "Some conditions need correcting: press “Count” to see which."})
    return JsonResponse({"ok": True, "summary": count_sentence(count), "matching": count.matching,
                         "reachable_for_events": count.reachable_for_events,
                         "reachable_for_bulletin": count.reachable_for_bulletin})
