"""Staff page: upload another area's census baseline for the representation report.

Administrator and Data protection only (crm.add_populationbaseline). Thin: ``crm.census`` checks
the file as the organisation file's baseline is checked, stores it and records it in the audit log.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from crm import census
from crm.audit import actor_from_request
from crm.models import PopulationBaseline
from crm.staff.access import staff_view
from segments.report_forms import BaselineForm

UPLOAD_BASELINE = "crm.add_populationbaseline"


@staff_view("crm.view_populationbaseline", UPLOAD_BASELINE)
def baseline_upload(request):
    form = BaselineForm(request.POST if request.method == "POST" else None,
                        request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            record = census.upload_baseline(content=form.cleaned_data["file"].read(),
                                            actor=actor_from_request(request))
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            messages.success(request, f"The report now compares with {record.area_name}: "
                                      f"{record.residents:,} residents.")
            return redirect("segments:baseline_upload")
    context = {"form": form, "newest": census.newest_upload(), "organisation_area": census.baseline_area(),
               "uploads": PopulationBaseline.objects.select_related("uploaded_by")[:50]}
    return render(request, "segments/representation/baseline.html", context)
