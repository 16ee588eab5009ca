"""Public pages: sign-up, double opt-in, preference centre, one-click unsubscribe, notices.

Views stay thin: forms validate, consent.services writes. Every action here is the person's own,
so the actor is always ``Actor.public`` (even if a staff member happens to be signed in).
Personal links carry a signed token; a bad, expired or wrong-purpose token gets the same
"link not valid" page, with no hint about whose link it was. Links in emails may only change
choices (they get forwarded): the person's data is behind a fresh link (consent/data_views.py).
A GET (or HEAD, crm.middleware.HeadAsGetMiddleware) on any link changes nothing and mints no link.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent import data_access, services
from consent.forms import PreferenceCentreForm, PreferencesLinkForm, SignUpForm
from consent.models import ConsentState, Purpose
from consent.ratelimits import limit_public_posts
from consent.tokens import UNSUBSCRIBE, personal_link_tokens, purposes_of_unsubscribe_link
from crm.audit import Actor, client_ip
from crm.forms import write_valid_post
from crm.personal_links import invalidate_personal_links
from crm.services import DuplicateContact

LINK_INVALID_STATUS = 404


def _public_actor(request) -> Actor:
    return Actor.public(client_ip(request))


def _link_invalid(request):
    return render(request, "consent/link_invalid.html", status=LINK_INVALID_STATUS)


def _personal_link(purpose: str, *, confirmed_only: bool = True):
    """Resolve ``token`` to the contact it was made for, or show the 'link not valid' page.

    Preference-centre pages also require a confirmed contact: they can grant consent, which only
    someone who has proved the address may do.
    """
    def decorator(view):
        @wraps(view)
        def wrapped(request, token, *args, **kwargs):
            contact = personal_link_tokens.check_token(token, purpose)
            if contact is None or (confirmed_only and contact.confirmed_at is None):
                return _link_invalid(request)
            return view(request, contact, token, *args, **kwargs)
        return never_cache(wrapped)
    return decorator


# --- information pages --------------------------------------------------------------------

@require_GET
def home(request):
    return render(request, "consent/home.html")


@require_GET
def privacy(request):
    purposes = Purpose.objects.all()
    return render(request, "consent/privacy.html", {
        "purposes": purposes,
        "unconfirmed_days": settings.UNCONFIRMED_SIGNUP_DAYS,
        "review_years": settings.RETENTION_REVIEW_DAYS // 365,
    })


@require_GET
def accessibility(request):
    return render(request, "consent/accessibility.html")


# --- sign-up and confirmation -------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@limit_public_posts
def sign_up(request):
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.sign_up(
                email=data["email"], name=data["name"], postcode=data["postcode"], purposes=data["purposes"],
                topic_ids=[topic.pk for topic in data["topics"]], actor=_public_actor(request),
            )
        except DuplicateContact:
            # A simultaneous sign-up created this address first: answer exactly as for any other.
            return redirect("consent:sign_up_sent")
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("consent:sign_up_sent")
    return render(request, "consent/sign_up.html", {"form": form})


@require_GET
def sign_up_sent(request):
    return render(request, "consent/sign_up_sent.html")


@require_http_methods(["GET", "POST"])
@_personal_link("confirm", confirmed_only=False)
def confirm(request, contact, token):
    """GET only shows what will be confirmed (link scanners must not confirm); POST confirms.

    Only the POST that confirms something leads on: a preferences link, and for a first confirmation
    from a link sent within the hour, a short data-access grant for the optional "about you" step
    (the same proof as a fresh data-access link: the address was just sent it, and it is spent now).
    A used link, fetched or posted again, leads nowhere: a leaked confirmation email is not a way in.
    """
    if request.method == "POST":
        first_confirmation = contact.confirmed_at is None
        fresh = personal_link_tokens.check_token(token, "confirm", max_age=data_access.FRESH_LINK_AGE) is not None
        confirmed = services.confirm_sign_up(contact=contact, actor=_public_actor(request))
        if confirmed:
            contact.refresh_from_db()
            if first_confirmation and fresh:
                data_access.grant(request, contact)
            return render(request, "consent/confirmed.html", {
                "confirmed": Purpose.objects.filter(code__in=confirmed),
                "about_you": first_confirmation and fresh, "offer_data_link": first_confirmation and not fresh,
                "preferences_token": personal_link_tokens.make_token(contact, "preferences"),
            })
    pending = ConsentState.objects.filter(contact=contact, status=ConsentState.Status.PENDING).select_related(
        "purpose", "statement")
    return render(request, "consent/confirm.html", {"pending": pending, "token": token})


# --- asking for a preference-centre link -----------------------------------------------------

@require_http_methods(["GET", "POST"])
@limit_public_posts
def preferences_request(request):
    form = PreferencesLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.request_preferences_link(email=form.cleaned_data["email"], actor=_public_actor(request))
        return redirect("consent:preferences_sent")
    return render(request, "consent/preferences_request.html", {"form": form})


@require_GET
def preferences_sent(request):
    return render(request, "consent/preferences_sent.html")


# --- the preference centre ------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@_personal_link("preferences")
def preference_centre(request, contact, token):
    form = PreferenceCentreForm(request.POST if request.method == "POST" else None, contact=contact)
    if write_valid_post(request, form, lambda data: services.save_preference_centre(
        contact=contact,
        details={"preferred_language": data["preferred_language"].strip() or "English"},
        topics=data["topics"], needs=form.needs_with_details(), wanted_purposes=set(data["purposes"]),
        offered_purposes=form.offered_purposes, actor=_public_actor(request),
    )):
        messages.success(request, "Your preferences have been saved.")
        return redirect("consent:preferences", token=token)
    return render(request, "consent/preference_centre.html", {
        "form": form, "token": token, "masked_email": masked_email(contact.email)})


def masked_email(email: str) -> str:
    """Enough of the address for its owner to recognise it, not enough to learn it from a forwarded link."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}•••@{domain}"


@require_POST
@limit_public_posts
@_personal_link("preferences")
def preferences_data_link(request, contact, token):
    """The preference centre's "Email me a link to see or delete my data": to the contact's own address."""
    data_access.send_data_access_link(contact=contact, actor=_public_actor(request))
    return redirect("consent:data_request_sent")


@require_POST
@_personal_link("preferences")
def sign_out_everywhere(request, contact, token):
    """ "Sign me out of all links": every link sent so far stops working, this one included."""
    invalidate_personal_links(contact=contact, actor=_public_actor(request), reason="person_signed_out")
    data_access.end_grant(request)
    return render(request, "consent/signed_out_everywhere.html")


@require_http_methods(["GET", "POST"])
@_personal_link("preferences")
def withdraw(request, contact, token):
    if request.method == "POST":
        services.withdraw_everything_by_person(contact=contact, actor=_public_actor(request))
        return render(request, "consent/withdrawn.html", {"token": token})
    return render(request, "consent/withdraw.html", {"token": token})


# --- one-click unsubscribe (RFC 8058) --------------------------------------------------------

@csrf_exempt  # RFC 8058: mail clients POST with no cookie, session or CSRF token. GET changes nothing.
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token, scope=""):
    """GET shows a button; POST (``List-Unsubscribe=One-Click`` or the button) unsubscribes. Idempotent.

    Answers 200 with a page, never a redirect, and sets no cookie (the page's form has no CSRF token).
    ``scope`` names the purposes of an email other than the bulletin (signed into the token's purpose).
    """
    link_purpose = f"{UNSUBSCRIBE}-{scope}" if scope else UNSUBSCRIBE
    codes = purposes_of_unsubscribe_link(link_purpose)
    contact = personal_link_tokens.check_token(token, link_purpose) if codes else None
    if contact is None:
        return _link_invalid(request)
    context = {"token": token, "purposes": codes, "is_bulletin": codes == ("bulletin",)}
    if request.method == "POST":
        services.unsubscribe_one_click(contact=contact, actor=_public_actor(request), purposes=codes)
        return render(request, "consent/unsubscribed.html", context)
    return render(request, "consent/unsubscribe.html", context)

