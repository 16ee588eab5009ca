"""Public pages: the archive of past bulletins, each bulletin's web version, and comments on items.

The web version is the same for everyone. Reached through a recipient's signed comment link, it
also shows a comment form under each item that takes comments. Comments are plain text, escaped
on output, rate-limited per client address, with a honeypot field, and wait for moderation.
"""

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.core import is_ratelimited

from bulletins import comments
from bulletins.forms import CommentForm
from bulletins.models import Bulletin, Item
from bulletins.rendering import rendered_items
from bulletins.sanitise import markdown_to_safe_html
from consent.ratelimits import KEY, public_rate
from consent.tokens import personal_link_tokens
from crm.audit import Actor, client_ip
from crm.views import rate_limited

PUBLISHED = {Bulletin.Status.SENDING, Bulletin.Status.PAUSED, Bulletin.Status.SENT, Bulletin.Status.CANCELLED}


def published_bulletins():
    """Bulletins whose emails (with their web-version link) went out: while sending, paused, sent,
    or cancelled part-way (some people got it). Newest first."""
    return Bulletin.objects.filter(status__in=PUBLISHED, send_started_at__isnull=False).order_by("-send_started_at")


def _published(public_id) -> Bulletin:
    return get_object_or_404(published_bulletins(), public_id=public_id)


@require_GET
def archive(request):
    """Past bulletins: those whose send finished."""
    # Invitations and feedback went to chosen people: their web version exists, but the archive is the bulletin's.
    sent = published_bulletins().filter(status=Bulletin.Status.SENT, kind=Bulletin.Kind.BULLETIN)[:500]
    return render(request, "bulletins/public/archive.html", {"bulletins": sent})


def _page(request, bulletin, *, contact=None, token="", forms=None, problems=(), status=200):
    entries = rendered_items(bulletin)
    published = comments.published_comments([entry.item.pk for entry in entries])
    can_comment = contact is not None and comments.was_sent_to(bulletin=bulletin, contact=contact)
    rows = [{"entry": entry, "comments": published.get(entry.item.pk, []),
             "form": (forms or {}).get(entry.item.pk) or comment_form(entry.item)}
            for entry in entries]
    return render(request, "bulletins/public/web_version.html", {
        "bulletin": bulletin, "rows": rows, "token": token, "can_comment": can_comment,
        "introduction_html": markdown_to_safe_html(bulletin.introduction),
        "comments_open": bulletin.status in comments.OPEN_STATUSES,
        "problems": problems,
    }, status=status)


# Item images are published elsewhere on the web (https only, checked when the item was saved).
ITEM_IMAGES = csp_update({"img-src": ["https:"]})


@ITEM_IMAGES
@require_GET
def web_version(request, public_id):
    return _page(request, _published(public_id))


@ITEM_IMAGES
@never_cache
@require_http_methods(["GET", "POST"])
def web_version_comment(request, public_id, token):
    bulletin = _published(public_id)
    contact = personal_link_tokens.check_token(token, "comment")
    if contact is None:
        return render(request, "consent/link_invalid.html", status=404)
    if request.method == "GET":
        return _page(request, bulletin, contact=contact, token=token)
    if is_ratelimited(request, group="bulletins.comment", key=KEY, rate=public_rate, increment=True):
        return rate_limited(request)
    item = _commentable_item(bulletin, request.POST.get("item"))
    form = comment_form(item, request.POST)
    if form.is_bot():
        # Answer as if it worked, so a bot learns nothing; nothing is stored.
        messages.success(request, THANKS)
        return redirect("bulletins:web_version_comment", public_id=bulletin.public_id, token=token)
    if form.is_valid():
        try:
            comments.submit_comment(item=item, contact=contact, body=form.cleaned_data["body"],
                                    actor=Actor.public(client_ip(request)))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, THANKS)
            return redirect(f"{request.path}#item-{item.pk}")
    # A refusal that is not about the text (the item takes no comments, not a recipient) goes at the top.
    return _page(request, bulletin, contact=contact, token=token, forms={item.pk: form},
                 problems=form.non_field_errors(), status=400)


def comment_form(item, data=None) -> CommentForm:
    """One form per item on the page: ids are made unique by the item."""
    return CommentForm(data, initial={"item": item.pk}, auto_id=f"comment-{item.pk}-%s")


THANKS = "Thank you for your comment. We read every comment before publishing it, without your name."


def _commentable_item(bulletin, item_id) -> Item:
    if not (item_id or "").isdigit():
        raise Http404
    return get_object_or_404(Item, pk=int(item_id), bulletin=bulletin)
