"""Public pages: an event's page (date, place, access information) and the RSVP page behind a signed link.

Opening an RSVP link changes nothing (mail scanners follow links): only the form's POST records an
answer, and each POST spends the client's public rate-limit budget.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from consent.ratelimits import limit_public_posts
from crm.audit import Actor, client_ip
from crm.forms import add_service_errors
from segments import events
from segments.forms import RsvpForm
from segments.models import Event
from segments.rsvp import rsvp_tokens


@require_GET
def public_event(request, public_id):
    event = get_object_or_404(Event.objects.select_related("locality"), public_id=public_id)
    return render(request, "segments/public/event.html", {"event": event})


@never_cache
@require_http_methods(["GET", "POST"])
@limit_public_posts
def rsvp(request, token):
    invitation = rsvp_tokens.check_token(token)
    if invitation is None:
        return render(request, "segments/public/link_invalid.html", status=404)
    event = invitation.event
    if request.method == "GET":
        # The email's Yes / Maybe / No links carry ?response=: the choice is pre-selected, but only the
        # person's POST records it (a mail scanner following the link answers nothing).
        chosen = request.GET.get("response")
        offered = {value for value, _ in RsvpForm.base_fields["response"].choices}
        initial = {"response": chosen if chosen in offered else (invitation.response or None),
                   "access_needs": invitation.access_needs}
        return render(request, "segments/public/rsvp.html", {"event": event, "invitation": invitation,
                                                               "form": RsvpForm(initial=initial)})
    form = RsvpForm(request.POST)
    if form.is_valid():
        try:
            answered = events.respond(invitation=invitation, response=form.cleaned_data["response"],
                                      access_needs=form.cleaned_data["access_needs"],
                                      actor=Actor.public(client_ip(request)))
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return render(request, "segments/public/rsvp_done.html", {"event": event, "invitation": answered,
                                                                        "token": token})
    return render(request, "segments/public/rsvp.html", {"event": event, "invitation": invitation, "form": form})

