"""Staff pages for data-protection cases: subject access requests and erasure requests."""

import json

from django.contrib import messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from consent import cases
from consent.models import ErasureRequest, SubjectAccessRequest
from consent.staff import forms
from crm.audit import actor_from_request
from crm.forms import write_valid_post
from crm.staff.access import staff_view

SAR_VIEW = "consent.view_subjectaccessrequest"
SAR_CHANGE = "consent.change_subjectaccessrequest"
ERASURE_VIEW = "consent.view_erasurerequest"
ERASURE_CHANGE = "consent.change_erasurerequest"


def _case_form_page(request, template: str, case, form, title: str):
    """One step of a case (extends consent_staff/_case_form_page.html), with a link back to the case."""
    back_view = "consent_staff:sar" if isinstance(case, SubjectAccessRequest) else "consent_staff:erasure"
    return render(request, template, {"case": case, "form": form, "title": title, "back_view": back_view})


# --- subject access -------------------------------------------------------------------------

@staff_view(SAR_VIEW)
def sar_list(request):
    closed = SubjectAccessRequest.objects.filter(status=cases.SAR.CLOSED).order_by("-closed_on", "-pk")[:50]
    return render(request, "consent_staff/sar/list.html", {
        "open_cases": cases.open_subject_access_cases(), "closed_cases": closed,
    })


@staff_view(SAR_VIEW, "consent.add_subjectaccessrequest")
def sar_new(request):
    form = forms.SubjectAccessOpenForm(forms.posted(request))
    if written := write_valid_post(request, form, lambda data: cases.open_subject_access(
        received_on=data["received_on"], requester_description=data["requester_description"],
        contact=form.contact, identity_checked_on=data["identity_checked_on"], actor=actor_from_request(request),
    )):
        case = written.result
        messages.success(request, f"Case {case.reference} opened.")
        return redirect("consent_staff:sar", pk=case.pk)
    return render(request, "consent_staff/sar/new.html", {"form": form})


def _sar(pk) -> SubjectAccessRequest:
    return get_object_or_404(SubjectAccessRequest.objects.select_related("contact", "created_by"), pk=pk)


@staff_view(SAR_VIEW)
def sar_detail(request, pk):
    case = _sar(pk)
    return render(request, "consent_staff/sar/detail.html", {"case": case, "due": cases.with_due(case)})


# One page per step: (form label, service, keyword for the date, confirmation message).
SAR_DATE_STEPS = {
    "identity": ("Date identity was confirmed", cases.record_identity_checked, "checked_on",
                 "Identity check recorded. The clock runs from this date."),
    "stop": ("Date the clock stopped (clarification asked for)", cases.stop_clock_for_clarification, "stopped_on",
             "Clock stopped while waiting for clarification."),
    "restart": ("Date clarification was received", cases.restart_clock, "restarted_on",
                "Clock restarted. The paused days were added to the deadline."),
}
SAR_STEP_TITLES = {"identity": "Record identity check", "stop": "Stop the clock", "restart": "Restart the clock"}


@staff_view(SAR_VIEW, SAR_CHANGE)
def sar_step(request, pk, step):
    case = _sar(pk)
    label, service, keyword, done = SAR_DATE_STEPS[step]
    form = forms.DateForm(forms.posted(request), label=label)
    if write_valid_post(request, form, lambda data: service(case=case, actor=actor_from_request(request),
                                                            **{keyword: data["on"]})):
        messages.success(request, done)
        return redirect("consent_staff:sar", pk=case.pk)
    return _case_form_page(request, "consent_staff/sar/step.html", case, form, SAR_STEP_TITLES[step])


@staff_view(SAR_VIEW, SAR_CHANGE)
def sar_link(request, pk):
    case = _sar(pk)
    form = forms.LinkContactForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: cases.link_subject_access_contact(
            case=case, contact=form.contact, actor=actor_from_request(request))):
        messages.success(request, "Contact linked to the case.")
        return redirect("consent_staff:sar", pk=case.pk)
    return _case_form_page(request, "consent_staff/case_link.html", case, form, "Link a contact")


@staff_view(SAR_VIEW, SAR_CHANGE)
def sar_close(request, pk):
    case = _sar(pk)
    form = forms.CloseSubjectAccessForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: cases.close_subject_access(
            case=case, closed_on=data["closed_on"], outcome=data["outcome"], actor=actor_from_request(request))):
        messages.success(request, f"Case {case.reference} closed.")
        return redirect("consent_staff:sar", pk=case.pk)
    return _case_form_page(request, "consent_staff/sar/close.html", case, form, "Close the case")


# The export holds equality answers, so it needs that permission as well as the case's.
EXPORT_PERMISSIONS = (SAR_VIEW, "crm.view_contact", "crm.view_equality_data")


def _export(request, pk, export_format: str):
    case = _sar(pk)
    if case.contact is None:
        messages.error(request, "Link the case to a contact before exporting.")
        return None, case
    return cases.record_subject_access_export(case=case, export_format=export_format,
                                              actor=actor_from_request(request)), case


@staff_view(*EXPORT_PERMISSIONS)
def sar_export_json(request, pk):
    data, case = _export(request, pk, "json")
    if data is None:
        return redirect("consent_staff:sar", pk=case.pk)
    response = HttpResponse(json.dumps(data, indent=2, cls=DjangoJSONEncoder, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{case.reference}.json"'
    response["Cache-Control"] = "no-store"
    return response


@staff_view(*EXPORT_PERMISSIONS)
def sar_export_html(request, pk):
    data, case = _export(request, pk, "html")
    if data is None:
        return redirect("consent_staff:sar", pk=case.pk)
    response = render(request, "consent_staff/sar/export.html", {"case": case, "data": data})
    response["Cache-Control"] = "no-store"
    return response


# --- erasure --------------------------------------------------------------------------------

@staff_view(ERASURE_VIEW)
def erasure_list(request):
    return render(request, "consent_staff/erasure/list.html", {
        "open_cases": ErasureRequest.objects.filter(status=cases.ERASURE.OPEN).order_by("received_on", "pk"),
        "closed_cases": ErasureRequest.objects.exclude(status=cases.ERASURE.OPEN).order_by("-completed_on", "-pk")[:50],
    })


@staff_view(ERASURE_VIEW, "consent.add_erasurerequest")
def erasure_new(request):
    form = forms.ErasureOpenForm(forms.posted(request), initial={"contact": request.GET.get("contact", "")})
    if written := write_valid_post(request, form, lambda data: cases.open_erasure(
            received_on=data["received_on"], contact=form.contact, notes=data["notes"],
            actor=actor_from_request(request))):
        case = written.result
        messages.success(request, f"Case {case.reference} opened.")
        return redirect("consent_staff:erasure", pk=case.pk)
    return render(request, "consent_staff/erasure/new.html", {"form": form})


def _erasure(pk) -> ErasureRequest:
    return get_object_or_404(ErasureRequest.objects.select_related("contact", "created_by"), pk=pk)


@staff_view(ERASURE_VIEW)
def erasure_detail(request, pk):
    return render(request, "consent_staff/erasure/detail.html", {"case": _erasure(pk)})


@staff_view(ERASURE_VIEW, ERASURE_CHANGE)
def erasure_link(request, pk):
    case = _erasure(pk)
    form = forms.LinkContactForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: cases.link_erasure_contact(
            case=case, contact=form.contact, actor=actor_from_request(request))):
        messages.success(request, "Contact linked to the case.")
        return redirect("consent_staff:erasure", pk=case.pk)
    return _case_form_page(request, "consent_staff/case_link.html", case, form, "Link a contact")


@staff_view(ERASURE_VIEW, ERASURE_CHANGE, "crm.view_contact")
def erasure_confirm(request, pk):
    """Asks again, showing what will go, before anything is deleted."""
    case = _erasure(pk)
    if case.status != cases.ERASURE.OPEN or case.contact is None:
        return redirect("consent_staff:erasure", pk=case.pk)
    form = forms.ErasureConfirmForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: cases.complete_erasure(case=case, actor=actor_from_request(request))):
        messages.success(request, f"Case {case.reference}: the person has been erased.")
        return redirect("consent_staff:erasure", pk=case.pk)
    return _case_form_page(request, "consent_staff/erasure/confirm.html", case, form, "Erase this person?")


@staff_view(ERASURE_VIEW, ERASURE_CHANGE)
def erasure_refuse(request, pk):
    case = _erasure(pk)
    if case.status != cases.ERASURE.OPEN:
        return redirect("consent_staff:erasure", pk=case.pk)
    form = forms.ErasureRefuseForm(forms.posted(request))
    if write_valid_post(request, form, lambda data: cases.refuse_erasure(
            case=case, reason=data["reason"], actor=actor_from_request(request))):
        messages.success(request, f"Case {case.reference} refused.")
        return redirect("consent_staff:erasure", pk=case.pk)
    return _case_form_page(request, "consent_staff/erasure/refuse.html", case, form, "Refuse the request")
