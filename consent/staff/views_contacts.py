"""Staff pages about people: search, the contact page, equality answers, add, correct, consent, merge."""

from datetime import datetime, time

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from consent import addresses, merging, registry, services
from consent.forms import EQUALITY_QUESTIONS
from consent.models import ConsentEvent, ConsentState, Purpose
from consent.search import ContactFilters, capped_count, search_contacts
from consent.selectors import consent_timeline
from consent.staff import forms
from crm import services as crm_services
from crm.audit import actor_from_request
from crm.forms import write_valid_post
from crm.models import Contact, EqualityProfile
from crm.normalise import normalise_email
from crm.staff.access import staff_view


def page_params(request) -> tuple[int | None, int | None]:
    """Keyset cursors from the querystring; anything that is not a positive id is ignored."""
    def positive(name):
        value = request.GET.get(name, "")
        return int(value) if value.isdigit() and int(value) > 0 else None

    return positive("after"), positive("before")


@staff_view("crm.view_contact")
def contact_list(request):
    form = forms.ContactSearchForm(request.GET or None)
    page = count = None
    if not form.is_bound or form.is_valid():
        filters = form.filters() if form.is_bound else ContactFilters()
        after, before = page_params(request)
        page = search_contacts(filters, after=after, before=before)
        count = capped_count(filters) if not filters.is_empty() else None
    return render(request, "consent_staff/contacts/list.html", {"form": form, "page": page, "count": count})


def _contact(public_id) -> Contact:
    return get_object_or_404(Contact.objects.select_related("locality", "organisation"), public_id=public_id)


@staff_view("crm.view_contact", "consent.view_consentevent")
def contact_detail(request, public_id):
    contact = _contact(public_id)
    states = (ConsentState.objects.filter(contact=contact).select_related("purpose", "statement")
              .order_by("purpose__display_order"))
    return render(request, "consent_staff/contacts/detail.html", {
        "contact": contact,
        "topics": contact.topics.order_by("name"),
        "needs": contact.communication_needs.order_by("need"),
        "states": states,
        "not_asked": Purpose.objects.exclude(pk__in=states.values("purpose_id")),
        "timeline": consent_timeline(contact),
        "panels": registry.contact_panels(contact, request.user),  # sections higher apps add (events, ...)
    })


@staff_view("crm.view_contact", "crm.view_equality_data")
def contact_equality(request, public_id):
    """Special-category answers: shown on their own page, and every view is audited."""
    contact = _contact(public_id)
    profile = EqualityProfile.objects.filter(contact=contact).first()
    answers = []
    if profile is not None:
        answers = [(EQUALITY_QUESTIONS[field][0], getattr(profile, f"get_{field}_display")() if getattr(profile, field)
                    else "Not answered") for field in EqualityProfile.ANSWER_FIELDS]
    crm_services.record_equality_view(contact=contact, actor=actor_from_request(request))
    return render(request, "consent_staff/contacts/equality.html", {
        "contact": contact, "profile": profile, "answers": answers,
    })


def _occurred_at(day, action: str) -> datetime:
    """A date on a form → the moment recorded in the ledger.

    Today means now. For an earlier day a withdrawal is placed at the end of that day and a grant at
    its start, so when the person did both on one day (or a same-day web event exists), the
    withdrawal is the later fact and wins: the protective reading of an ambiguous paper record.
    """
    if day >= timezone.localdate():
        return timezone.now()
    moment = time.max if action == ConsentEvent.Action.WITHDRAWN else time.min
    return timezone.make_aware(datetime.combine(day, moment))


@staff_view("crm.add_contact", "consent.add_consentevent")
def contact_add(request):
    form = forms.AddContactForm(forms.posted(request))
    if written := write_valid_post(request, form, lambda data: services.add_contact_with_consent(
        email=data["email"], name=data["name"], postcode=data["postcode"], kind=data["kind"],
        organisation=data["organisation"], topics=list(data["topics"]), purposes=data["purposes"],
        method=data["method"], evidence_reference=data["evidence_reference"],
        occurred_at=_occurred_at(data["occurred_on"], ConsentEvent.Action.CONFIRMED),
        actor=actor_from_request(request),
    )):
        messages.success(request, "Contact added with their consent recorded.")
        return redirect("consent_staff:contact", public_id=written.result.public_id)
    return render(request, "consent_staff/contacts/add.html", {"form": form})


@staff_view("crm.view_contact", "crm.change_contact")
def contact_edit(request, public_id):
    contact = _contact(public_id)
    form = forms.EditContactForm(forms.posted(request), contact=contact)

    def save(data) -> bool:
        actor = actor_from_request(request)
        new_mailbox = normalise_email(data["email"]) != contact.email_normalised
        with transaction.atomic():
            if data["email"] != contact.email:  # first: it locks the contact before anything else is written
                addresses.change_email_address(contact=contact, email=data["email"], actor=actor)
            crm_services.update_contact_details(contact=contact, actor=actor, **form.details())
            crm_services.set_contact_topics(contact=contact, topics=data["topics"], actor=actor)
            crm_services.set_communication_needs(contact=contact, needs=form.needs_with_details(), actor=actor)
        return new_mailbox

    if written := write_valid_post(request, form, save):
        messages.success(request, "Contact details saved." if not written.result else (
            "Contact details saved. We have emailed the new address to confirm it: consent given from the old "
            "address waits for that confirmation."))
        return redirect("consent_staff:contact", public_id=contact.public_id)
    return render(request, "consent_staff/contacts/edit.html", {"form": form, "contact": contact})


@staff_view("crm.view_contact", "consent.add_consentevent")
def contact_record_consent(request, public_id):
    contact = _contact(public_id)
    form = forms.RecordConsentForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: services.record_consent(
        contact=contact, purpose=data["statement"].purpose, statement=data["statement"], action=data["action"],
        method=data["method"], occurred_at=_occurred_at(data["occurred_on"], data["action"]),
        evidence_reference=data["evidence_reference"], actor=actor_from_request(request),
    )):
        messages.success(request, "Consent recorded.")
        return redirect("consent_staff:contact", public_id=contact.public_id)
    return render(request, "consent_staff/contacts/record_consent.html", {"form": form, "contact": contact})


@staff_view("crm.view_contact", "crm.merge_contacts")
def contact_merge(request, public_id):
    """Step 1: find the other record. Step 2 (preview, then confirm) is ``contact_merge_preview``."""
    survivor = _contact(public_id)
    form = forms.MergeChooseForm(request.GET or None)
    if form.is_bound and form.is_valid():
        if form.contact.pk == survivor.pk:
            form.add_error("contact", "That is this record: choose the other record of the same person")
        else:
            url = reverse("consent_staff:contact_merge_preview", kwargs={"public_id": survivor.public_id})
            return redirect(f"{url}?duplicate={form.contact.public_id}")
    return render(request, "consent_staff/contacts/merge_choose.html", {"form": form, "contact": survivor})


@staff_view("crm.view_contact", "crm.merge_contacts")
def contact_merge_preview(request, public_id):
    survivor = _contact(public_id)
    data = request.POST if request.method == "POST" else {"duplicate": request.GET.get("duplicate", "")}
    form = forms.MergeConfirmForm(data)
    form.is_valid()
    duplicate_id = form.cleaned_data.get("duplicate")
    if duplicate_id is None:
        return redirect("consent_staff:contact_merge", public_id=survivor.public_id)
    duplicate = _contact(duplicate_id)
    if write_valid_post(request, form, lambda data: merging.merge_contacts(
            survivor=survivor, duplicate=duplicate, actor=actor_from_request(request))):
        messages.success(request, "Records merged. Both consent histories are kept on this record.")
        return redirect("consent_staff:contact", public_id=survivor.public_id)
    if request.method == "GET":
        form = forms.MergeConfirmForm(initial={"duplicate": duplicate.public_id})
    try:
        preview = merging.preview_merge(survivor=survivor, duplicate=duplicate)
    except ValidationError:
        return redirect("consent_staff:contact_merge", public_id=survivor.public_id)
    return render(request, "consent_staff/contacts/merge_preview.html", {
        "form": form, "contact": survivor, "preview": preview,
        "purpose_names": dict(Purpose.objects.values_list("code", "name")),
    })
