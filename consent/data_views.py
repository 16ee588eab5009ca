"""Public pages for seeing or deleting my data, behind a fresh single-use link (consent.data_access).

The link's landing page only shows a button (link scanners fetch links); pressing it spends the
link and opens a short session grant. The pages after it read the contact from that grant, never
from a token in the address, so nothing in the browser history or a forwarded email opens them.
"""

from functools import wraps

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent import data_access, erasure, services
from consent.exports import personal_data_for
from consent.forms import AboutYouForm, ContactDetailsForm, PreferencesLinkForm
from consent.ratelimits import limit_public_posts
from consent.selectors import consent_summary
from consent.tokens import DATA_ACCESS, personal_link_tokens
from consent.views import LINK_INVALID_STATUS
from crm import services as crm_services
from crm.audit import Actor, client_ip
from crm.forms import write_valid_post

GRANT_ENDED_STATUS = 403


def _public_actor(request) -> Actor:
    return Actor.public(client_ip(request))


def _granted(view):
    """Run ``view`` with the contact this session was granted, or show "ask for a new link"."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        contact = data_access.granted_contact(request)
        if contact is None:
            return render(request, "consent/data_grant_ended.html", status=GRANT_ENDED_STATUS)
        return view(request, contact, *args, **kwargs)
    return never_cache(wrapped)


# --- asking for a link ------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@limit_public_posts
def data_request(request):
    form = PreferencesLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data_access.request_data_access_link(email=form.cleaned_data["email"], actor=_public_actor(request))
        return redirect("consent:data_request_sent")
    return render(request, "consent/data_request.html", {"form": form})


@require_GET
def data_request_sent(request):
    return render(request, "consent/data_request_sent.html", {
        "valid_minutes": int(personal_link_tokens.max_age[DATA_ACCESS].total_seconds() // 60)})


@never_cache
@require_http_methods(["GET", "POST"])
def data_open(request, token):
    """GET shows a button and changes nothing; POST spends the link and opens the session grant."""
    if personal_link_tokens.check_token(token, DATA_ACCESS) is None:
        return render(request, "consent/link_invalid.html", status=LINK_INVALID_STATUS)
    if request.method == "POST":
        contact = data_access.open_data_access(token=token, actor=_public_actor(request))
        if contact is None:  # spent by a request that got there first
            return render(request, "consent/link_invalid.html", status=LINK_INVALID_STATUS)
        data_access.grant(request, contact)
        return redirect("consent:data_home")
    return render(request, "consent/data_open.html", {"token": token})


# --- behind the grant ----------------------------------------------------------------------------

@require_GET
@_granted
def data_home(request, contact):
    return render(request, "consent/data_home.html", {
        "contact": contact, "minutes_left": data_access.minutes_left(request),
        "summary": consent_summary(contact)})


@require_GET
@_granted
def data_download(request, contact):
    data_access.record_download(contact=contact, actor=_public_actor(request))
    response = JsonResponse(personal_data_for(contact), json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="my-nhs-data.json"'
    return response


@require_http_methods(["GET", "POST"])
@_granted
def data_details(request, contact):
    form = ContactDetailsForm(request.POST if request.method == "POST" else None, contact=contact)
    if write_valid_post(request, form, lambda data: crm_services.update_contact_details(
            contact=contact, actor=_public_actor(request), name=data["name"], postcode=data["postcode"])):
        messages.success(request, "Your details have been saved.")
        return redirect("consent:data_home")
    return render(request, "consent/data_details.html", {"form": form})


@require_http_methods(["GET", "POST"])
@_granted
def data_about_you(request, contact):
    form = AboutYouForm(request.POST if request.method == "POST" else None, contact=contact)
    if request.method == "POST" and "delete_answers" in request.POST:
        services.forget_about_you(contact=contact, actor=_public_actor(request))
        messages.success(request, "Your answers about you have been deleted.")
        return redirect("consent:data_home")
    if write_valid_post(request, form, lambda data: services.save_about_you(
            contact=contact, answers=form.answers(), wanted_purposes=set(data["purposes"]),
            actor=_public_actor(request))):
        messages.success(request, "Your answers about you have been saved.")
        return redirect("consent:data_home")
    return render(request, "consent/about_you.html", {"form": form})


@require_http_methods(["GET", "POST"])
@_granted
def data_erase(request, contact):
    if request.method == "POST":
        erasure.erase_contact(contact=contact, actor=_public_actor(request), reason="preference_centre")
        data_access.end_grant(request)
        return render(request, "consent/erased.html")
    return render(request, "consent/erase.html")


@require_POST
def data_sign_out(request):
    data_access.end_grant(request)
    return render(request, "consent/data_signed_out.html")
