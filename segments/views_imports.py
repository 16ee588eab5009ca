"""Staff pages for importing paper sign-ups: the list of imports, the upload form, the preview with its
confirm and cancel buttons, the outcome, and a template CSV.

Thin: ``segments.imports`` reads, checks and writes. A file that cannot be read at all is an error on
the form (nothing is stored); a file with rows to fix is previewed, but cannot be confirmed.
"""

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from crm.audit import actor_from_request
from crm.forms import add_service_errors
from crm.staff.access import staff_view
from segments import imports
from segments.forms import ImportForm
from segments.models import ContactImport

VIEW_IMPORTS, IMPORT = "segments.view_contactimport", "segments.import_contacts"
TEMPLATE_HEADER = ["email", "name", "postcode", "topics", "bulletin", "events", "involvement"]
TEMPLATE_EXAMPLE = ["someone@example.org", "Sam Example", "L20 3NJ", "dementia; cancer", "yes", "yes", ""]
ACTION_WORDS = {"create": "New people", "update": "People whose details or consent change",
                "unchanged": "Already up to date", "rejected": "Rejected"}


@staff_view(VIEW_IMPORTS)
def import_list(request):
    rows = ContactImport.objects.select_related("created_by").order_by("-created_at")[:300]
    return render(request, "segments/imports/list.html", {"imports": rows})


@staff_view(VIEW_IMPORTS, IMPORT)
def import_new(request):
    form = ImportForm(request.POST if request.method == "POST" else None,
                      request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data, upload = form.cleaned_data, form.cleaned_data["file"]
        try:
            record, _plan = imports.preview_import(
                content=upload, file_name=upload.name, method=data["method"],  # read block by block
                statement_versions=form.statement_versions(), collected_on=data["collected_on"],
                collected_by=data["collected_by"], evidence_reference=data["evidence_reference"],
                actor=actor_from_request(request))
        except imports.ImportFileError as error:
            form.add_error("file", error.messages)  # the file as a whole: nothing was stored
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("segments:import_detail", public_id=record.public_id)
    return render(request, "segments/imports/new.html", {"form": form, "max_mb": 10})


@staff_view(VIEW_IMPORTS, IMPORT)
@require_GET
def import_template(request):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(TEMPLATE_EXAMPLE)
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contact-import-template.csv"'
    return response


def _record(public_id) -> ContactImport:
    return get_object_or_404(ContactImport.objects.select_related("created_by"), public_id=public_id)


def rejected_rows(record: ContactImport) -> tuple[list, list]:
    """(rows to fix in the file, rows the consent rules leave out), each as (line, reason)."""
    malformed, refused = [], []
    for entry in record.rejected:
        line, reason = entry[0], entry[1]
        kind = entry[2] if len(entry) > 2 else "refused"
        (malformed if kind == "malformed" else refused).append((line, reason))
    return malformed, refused


@staff_view(VIEW_IMPORTS)
def import_detail(request, public_id):
    record = _record(public_id)
    malformed, refused = rejected_rows(record)
    context = {"record": record, "malformed": malformed, "refused": refused, "counts": _counts(record),
               "can_import": request.user.has_perm(IMPORT)}
    if record.status == ContactImport.Status.PREVIEWED:
        sample = imports.preview_sample(record)
        context["samples"] = [] if sample is None else [
            (ACTION_WORDS[action], rows) for action, rows in sample.samples.items() if rows]
        return render(request, "segments/imports/preview.html", context)
    context["consents"] = [(purpose.capitalize(), n["given"], n["withdrawn"])
                           for purpose, n in record.counts.get("consents", {}).items()]
    return render(request, "segments/imports/done.html", context)


def _counts(record: ContactImport) -> list[tuple[str, int]]:
    return [(ACTION_WORDS[action], record.counts.get(action, 0)) for action in imports.ACTIONS]


@staff_view(VIEW_IMPORTS, IMPORT)
@require_POST
def import_confirm(request, public_id):
    record = _record(public_id)
    try:
        record = imports.confirm_import(record=record, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        created = record.counts.get("create", 0)
        messages.success(request, f"Imported: {created:,} new {'person' if created == 1 else 'people'}, "
                                  f"{record.counts.get('update', 0):,} updated.")
    return redirect("segments:import_detail", public_id=record.public_id)


@staff_view(VIEW_IMPORTS, IMPORT)
@require_POST
def import_cancel(request, public_id):
    record = _record(public_id)
    try:
        imports.cancel_import(record=record, actor=actor_from_request(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Import of {record.file_name} cancelled: nothing was imported and the "
                                  "uploaded file was deleted.")
    return redirect("segments:import_list")
