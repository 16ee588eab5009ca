"""Staff pages for writing, checking, approving, scheduling and sending bulletins, and moderating comments.

Thin: forms validate, services write (and refuse what the user may not do). Every view checks its
permission with ``staff_view`` before looking anything up.
"""

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bulletins import comments, forms, services
from bulletins.accessibility import check_email_html
from bulletins.audience import audience_count, audience_for, describe_audience, matching_item_ids
from bulletins.models import Bulletin, Comment, Item
from bulletins.rendering import personalise, preview_merge_values, render_variant, rendered_items
from bulletins.sanitise import markdown_to_safe_html
from bulletins.scheduling import describe_instant
from consent.staff.forms import posted
from crm.audit import actor_from_request, record_audit
from crm.forms import write_valid_post
from crm.staff.access import staff_view
from segments.models import Activity, Event

VIEW, CHANGE, ADD = "bulletins.view_bulletin", "bulletins.change_bulletin", "bulletins.add_bulletin"
APPROVE, SEND, MODERATE = "bulletins.approve_bulletin", "bulletins.send_bulletin", "bulletins.moderate_comment"


def _bulletin(public_id) -> Bulletin:
    return get_object_or_404(Bulletin.objects.select_related("created_by", "approved_by"), public_id=public_id)


def _item(bulletin, item_id) -> Item:
    return get_object_or_404(Item, pk=item_id, bulletin=bulletin)


@staff_view(VIEW)
def bulletin_list(request):
    bulletins = Bulletin.objects.select_related("created_by").order_by("-created_at")[:200]
    return render(request, "bulletins/staff/list.html", {"bulletins": bulletins})


@staff_view(VIEW, ADD)
def bulletin_new(request):
    form = forms.BulletinForm(posted(request), user=request.user)
    if written := write_valid_post(request, form, lambda data: services.create_bulletin(
            actor=actor_from_request(request), **data)):
        messages.success(request, "Bulletin started. Now add its items.")
        return redirect("bulletins:detail", public_id=written.result.public_id)
    return render(request, "bulletins/staff/bulletin_form.html", {"form": form})


@staff_view(VIEW, ADD)
def invitation_new(request, public_id):
    """An email invitation to one event, to a segment (people reachable for events), through the bulletin pipeline."""
    event = get_object_or_404(Event, public_id=public_id)
    kind = Bulletin.Kind.EVENT_INVITATION
    form = forms.BulletinForm(posted(request), user=request.user, kind=kind,
                              initial={"subject": f"You are invited: {event.title}"[:200]})
    if written := write_valid_post(request, form, lambda data: services.create_bulletin(
            actor=actor_from_request(request), kind=kind, event=event, **data)):
        messages.success(request, "Invitation started. Preview it, then ask a colleague to approve it.")
        return redirect("bulletins:detail", public_id=written.result.public_id)
    return render(request, "bulletins/staff/bulletin_form.html", {"form": form, "event": event})


def _feedback_text(activity: Activity) -> str:
    parts = [f"Thank you for taking part in {activity.title}."]
    if activity.you_said:
        parts += ["## You said", activity.you_said]
    if activity.we_did:
        parts += ["## We did", activity.we_did]
    return "\n\n".join(parts)


@staff_view(VIEW, ADD)
def feedback_new(request, pk):
    """"You said, we did": feedback from a completed activity to its participants, as a bulletin."""
    activity = get_object_or_404(Activity, pk=pk)
    kind = Bulletin.Kind.ACTIVITY_FEEDBACK
    form = forms.BulletinForm(posted(request), user=request.user, kind=kind, initial={
        "subject": f"You said, we did: {activity.title}"[:200], "introduction": _feedback_text(activity)})
    if activity.status != Activity.Status.COMPLETED:
        messages.error(request, "Feedback can be sent only from a completed activity.")
        return redirect("segments:activity_detail", pk=activity.pk)
    if written := write_valid_post(request, form, lambda data: services.create_bulletin(
            actor=actor_from_request(request), kind=kind, activity=activity, **data)):
        messages.success(request, "Feedback started. Preview it, then ask a colleague to approve it.")
        return redirect("bulletins:detail", public_id=written.result.public_id)
    return render(request, "bulletins/staff/bulletin_form.html", {"form": form, "activity": activity})


@staff_view(VIEW)
def bulletin_detail(request, public_id):
    bulletin = _bulletin(public_id)
    variant = render_variant(bulletin=bulletin)
    user = request.user
    is_editor = bulletin.created_by_id == user.pk or bulletin.editors.filter(pk=user.pk).exists()
    return render(request, "bulletins/staff/detail.html", {
        "bulletin": bulletin,
        "items": rendered_items(bulletin),
        "introduction_html": markdown_to_safe_html(bulletin.introduction),
        "editable": bulletin.status in services.EDITABLE,
        **_audience(request, bulletin),
        "report": check_email_html(variant.html),
        "is_editor": is_editor,
        "approve_form": forms.ApproveForm(initial={"version": bulletin.version}),
        "pending_comments": Comment.objects.filter(item__bulletin=bulletin, status=Comment.Status.PENDING).count(),
    })


@staff_view(VIEW, CHANGE)
def bulletin_edit(request, public_id):
    bulletin = _bulletin(public_id)
    initial = {name: getattr(bulletin, name) for name in ("subject", "preheader", "introduction", "audience")}
    initial["segment"] = bulletin.segment_id
    form = forms.BulletinForm(posted(request), initial=initial, user=request.user, kind=bulletin.kind)
    if write_valid_post(request, form, lambda data: services.update_bulletin(
            bulletin=bulletin, actor=actor_from_request(request), **{"audience": bulletin.audience, **data})):
        messages.success(request, _saved_message(bulletin))
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/bulletin_form.html", {
        "form": form, "bulletin": bulletin, "noun": "bulletin" if bulletin.needs_items else "email"})


def _audience(request, bulletin) -> dict:
    """The count (as this user may see it: protected segment rules need the equality permission) and the sentence."""
    try:
        count = audience_count(bulletin=bulletin, actor=actor_from_request(request))
    except PermissionDenied:
        count = None
    return {"audience_count": count, "audience_description": describe_audience(bulletin)}


def _saved_message(before: Bulletin) -> str:
    if before.status in (Bulletin.Status.APPROVED, Bulletin.Status.SCHEDULED):
        return "Changes saved. This is a new version, so the approval (and any schedule) was withdrawn."
    return "Changes saved."


@staff_view(VIEW, CHANGE)
def item_add(request, public_id):
    bulletin = _bulletin(public_id)
    form = forms.ItemForm(posted(request))
    if write_valid_post(request, form, lambda data: services.add_item(
            bulletin=bulletin, content=form.content(), actor=actor_from_request(request))):
        messages.success(request, "Item added. " + _saved_message(bulletin).removeprefix("Changes saved."))
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/item_form.html", {"form": form, "bulletin": bulletin})


@staff_view(VIEW, CHANGE)
def item_edit(request, public_id, item_id):
    bulletin = _bulletin(public_id)
    item = _item(bulletin, item_id)
    initial = {name: getattr(item, name) for name in
               ("title", "body_markdown", "topic", "image_url", "image_alt", "comments_enabled")}
    form = forms.ItemForm(posted(request), initial=initial)
    if write_valid_post(request, form, lambda data: services.update_item(
            item=item, content=form.content(), actor=actor_from_request(request))):
        messages.success(request, _saved_message(bulletin))
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/item_form.html", {"form": form, "bulletin": bulletin, "item": item})


@staff_view(VIEW, CHANGE)
def item_remove(request, public_id, item_id):
    bulletin = _bulletin(public_id)
    item = _item(bulletin, item_id)
    error = None
    if request.method == "POST":
        try:
            services.remove_item(item=item, actor=actor_from_request(request))
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Item “{item.title}” removed.")
            return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/item_remove.html", {"bulletin": bulletin, "item": item, "error": error})


@staff_view(VIEW, CHANGE)
@require_POST
def item_move(request, public_id, item_id):
    bulletin = _bulletin(public_id)
    item = _item(bulletin, item_id)
    try:
        services.move_item(item=item, direction=request.POST.get("direction", ""), actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(f"{bulletin_url(bulletin)}#items")


def bulletin_url(bulletin) -> str:
    return reverse("bulletins:detail", args=[bulletin.public_id])


# --- preview, test, accessibility, approval ---------------------------------------------------

def _preview_for(request, bulletin):
    """The preview form, and the contact it names (recorded in the audit log) or None."""
    form = forms.PreviewForm(request.GET or None)
    contact = None
    if form.is_bound and form.is_valid():
        contact = form.cleaned_data["contact"]
        if contact is not None and not audience_for(bulletin=bulletin, actor=actor_from_request(request),
                                                    use="bulletin preview").filter(pk=contact.pk).exists():
            form.add_error("contact", "This person would not get this bulletin (not subscribed, or no matching topic)")
            contact = None
    matching = matching_item_ids(bulletin=bulletin, contact_ids=[contact.pk]).get(contact.pk, frozenset()) \
        if contact else frozenset()
    if contact is not None:
        record_audit(actor=actor_from_request(request), action="bulletin.previewed_as_contact", obj=bulletin,
                     changes={"contact": contact.pk})
    return form, contact, matching


@staff_view(VIEW)
def preview(request, public_id):
    bulletin = _bulletin(public_id)
    form, contact, matching = _preview_for(request, bulletin)
    variant = render_variant(bulletin=bulletin, matching_item_ids=matching)
    return render(request, "bulletins/staff/preview.html", {
        "bulletin": bulletin, "form": form, "contact": contact,
        "text": personalise(variant.text, preview_merge_values(bulletin)),
        "matching_titles": [i.title for i in bulletin.items.order_by("position") if i.pk in matching],
    })


# The email is shown as mail clients get it: inline styles (which the site's policy forbids on its
# own pages) are allowed on this one response; scripts stay forbidden.
@csp_replace({"style-src": ["'unsafe-inline'"], "img-src": ["'self'", "https:"], "script-src": ["'none'"]})
@staff_view(VIEW)
def preview_email(request, public_id):
    bulletin = _bulletin(public_id)
    form, contact, matching = _preview_for(request, bulletin)
    variant = render_variant(bulletin=bulletin, matching_item_ids=matching)
    return HttpResponse(personalise(variant.html, preview_merge_values(bulletin), html=True))


@staff_view(VIEW, CHANGE)
def test_send(request, public_id):
    bulletin = _bulletin(public_id)
    form = forms.TestSendForm(posted(request), initial={"recipients": [request.user.pk]})
    if written := write_valid_post(request, form, lambda data: services.send_test(
            bulletin=bulletin, recipients=list(data["recipients"]), actor=actor_from_request(request))):
        messages.success(request, f"Test sent to {written.result} {'person' if written.result == 1 else 'people'}, "
                                  "with [TEST] before the subject.")
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/test_send.html", {"form": form, "bulletin": bulletin})


@staff_view(VIEW, APPROVE)
@require_POST
def approve(request, public_id):
    bulletin = _bulletin(public_id)
    form = forms.ApproveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Approval failed: reload the page and try again.")
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    try:
        services.approve_bulletin(bulletin=bulletin, version=form.cleaned_data["version"],
                                  actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Version {form.cleaned_data['version']} approved. It can now be sent or scheduled.")
    return redirect("bulletins:detail", public_id=bulletin.public_id)


# --- send now or schedule ---------------------------------------------------------------------

@staff_view(VIEW, SEND)
def send(request, public_id):
    bulletin = _bulletin(public_id)
    form = forms.ScheduleForm(posted(request) if request.POST.get("when") == "schedule" else None)
    if request.method == "POST" and request.POST.get("when") == "now":
        try:
            count = services.send_bulletin_now(bulletin=bulletin, actor=actor_from_request(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("bulletins:send", public_id=bulletin.public_id)
        messages.success(request, f"Sending to {count:,} {'person' if count == 1 else 'people'}.")
        return redirect("bulletins:progress", public_id=bulletin.public_id)
    if written := write_valid_post(request, form, lambda data: services.schedule_bulletin(
            bulletin=bulletin, send_at_local=form.local_datetime(), actor=actor_from_request(request))):
        note = (" That time happens twice that night as the clocks go back: it will be sent once, "
                "at the first (British Summer Time).") if written.result.ambiguous else ""
        messages.success(request, f"Scheduled for {describe_instant(written.result.utc)}.{note}")
        return redirect("bulletins:detail", public_id=bulletin.public_id)
    return render(request, "bulletins/staff/send.html", {
        "bulletin": bulletin, "form": form, **_audience(request, bulletin),
        "approved": bulletin.approved_version == bulletin.version
        and bulletin.status in (Bulletin.Status.APPROVED, Bulletin.Status.SCHEDULED),
    })


@staff_view(VIEW, SEND)
@require_POST
def unschedule(request, public_id):
    bulletin = _bulletin(public_id)
    try:
        services.unschedule_bulletin(bulletin=bulletin, actor=actor_from_request(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Schedule cancelled. The bulletin is still approved.")
    return redirect("bulletins:detail", public_id=bulletin.public_id)


# --- comment moderation -----------------------------------------------------------------------

@staff_view(MODERATE)
def comment_queue(request):
    recent = (Comment.objects.exclude(status=Comment.Status.PENDING).select_related("item", "item__bulletin")
              .order_by("-moderated_at")[:20])
    return render(request, "bulletins/staff/comments.html", {
        "pending": comments.comments_to_moderate()[:200], "recent": recent})


@staff_view(MODERATE)
def comment_moderate(request, comment_id):
    comment = get_object_or_404(Comment.objects.select_related("item", "item__bulletin"), pk=comment_id)
    form = forms.ModerateForm(posted(request), initial={"reply": comment.reply})
    if written := write_valid_post(request, form, lambda data: comments.moderate_comment(
            comment=comment, actor=actor_from_request(request), **data)):
        messages.success(request, "Comment published." if written.result.status == Comment.Status.APPROVED
                         else "Comment rejected.")
        return redirect("bulletins:comments")
    return render(request, "bulletins/staff/comment_moderate.html", {"form": form, "comment": comment})

