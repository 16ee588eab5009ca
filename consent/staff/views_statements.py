"""Staff pages for consent wording: versions per purpose, drafting, publishing."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from consent import statements
from consent.models import ConsentStatement, Purpose
from consent.staff import forms
from crm.audit import actor_from_request
from crm.forms import write_valid_post
from crm.staff.access import staff_view


@staff_view("consent.view_consentstatement")
def statement_list(request):
    return render(request, "consent_staff/statements/list.html", {"purposes": statements.statements_with_usage()})


@staff_view("consent.view_consentstatement", "consent.add_consentstatement")
def statement_new(request, purpose):
    purpose = get_object_or_404(Purpose, code=purpose)
    draft = statements.draft_for(purpose)
    if draft is not None:  # one draft at a time: carry on with it
        return redirect("consent_staff:statement_edit", pk=draft.pk)
    current = ConsentStatement.objects.filter(purpose=purpose, published_at__isnull=False).order_by("-version").first()
    form = forms.StatementForm(forms.posted(request), initial={"text": current.text if current else ""})
    if written := write_valid_post(request, form, lambda data: statements.draft_statement(
            purpose=purpose, text=data["text"], actor=actor_from_request(request))):
        messages.success(request, "Draft saved. It is not used until it is published.")
        return redirect("consent_staff:statement", pk=written.result.pk)
    return render(request, "consent_staff/statements/form.html",
                  {"form": form, "purpose": purpose, "current": current, "statement": None})


def _statement(pk) -> ConsentStatement:
    return get_object_or_404(ConsentStatement.objects.select_related("purpose", "created_by", "published_by"), pk=pk)


@staff_view("consent.view_consentstatement")
def statement_detail(request, pk):
    statement = _statement(pk)
    return render(request, "consent_staff/statements/detail.html", {"statement": statement})


@staff_view("consent.view_consentstatement", "consent.add_consentstatement")
def statement_edit(request, pk):
    statement = _statement(pk)
    if statement.is_published:  # immutable: the page offers "draft a new version" instead
        return redirect("consent_staff:statement", pk=statement.pk)
    form = forms.StatementForm(forms.posted(request), initial={"text": statement.text})
    if write_valid_post(request, form, lambda data: statements.edit_draft(
            statement=statement, text=data["text"], actor=actor_from_request(request))):
        messages.success(request, "Draft saved.")
        return redirect("consent_staff:statement", pk=statement.pk)
    return render(request, "consent_staff/statements/form.html",
                  {"form": form, "purpose": statement.purpose, "statement": statement, "current": None})


@staff_view("consent.view_consentstatement", "consent.publish_consentstatement")
def statement_publish(request, pk):
    """GET asks for confirmation; POST publishes (then the wording can never change)."""
    statement = _statement(pk)
    if statement.is_published:
        return redirect("consent_staff:statement", pk=statement.pk)
    if request.method == "POST":
        statements.publish_statement(statement=statement, actor=actor_from_request(request))
        messages.success(request, "Published. New consents for this purpose now use this wording.")
        return redirect("consent_staff:statements")
    return render(request, "consent_staff/statements/publish.html", {"statement": statement})
