"""Staff page: "Who are we missing?" — the representation report, its chart and its CSV download.

Who may see it: ``segments.view_activity_reports`` (Engagement, Data protection, Commissioner): the report
shows only counts of consenting people, small numbers hidden (``segments.representation``), never anyone's
answers, so it needs neither contact nor equality-answer permissions. Thin: the service counts and hides;
the page only arranges its tables, and the chart is given exactly the shares the table shows.
"""

import csv
import io

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.audit import actor_from_request, record_audit
from crm.census import report_baseline_area
from crm.staff.access import staff_view
from segments import representation
from segments.report_forms import ReportForm

VIEW_REPORT = "segments.view_activity_reports"


def _report(request):
    form = ReportForm(request.GET or {"population": "reachable"})
    if not form.is_valid():
        return form, None
    start, end = form.period()
    data = form.cleaned_data
    tables = representation.representation(
        population=data["population"], start=start, end=end, event_ids=[e.pk for e in data["events"]],
        activity=data["activity"], programme=data["programme"])
    return form, tables


def chart_figures(tables) -> list[dict]:
    """Per table with a baseline: categories with our share and the population's, in percent. A hidden
    cell has no share (None): the chart leaves its bar out, as the table shows "<5"."""
    figures = []
    for table in tables:
        if not table.has_baseline:
            continue
        cells = [c for c in table.cells if c.population_share is not None]
        figures.append({
            "id": f"chart-{table.characteristic}", "label": table.label,
            "categories": [c.category for c in cells],
            "ours": [None if c.share is None else round(c.share * 100, 1) for c in cells],
            "population": [round(c.population_share * 100, 1) for c in cells],
        })
    return figures


def _percent(value) -> str:
    return "" if value is None else f"{value:.1%}"


def table_rows(table) -> list[dict]:
    """The table as the page shows it, in words: the same cells and suppression as the CSV."""
    rows = [{"category": c.category, "shown": c.shown, "share": _percent(c.share),
             "population": _percent(c.population_share), "ratio": "" if c.ratio is None else f"{c.ratio:.2f}",
             "under": c.under_represented} for c in table.cells]
    cell = table.not_answered
    rows.append({"category": cell.category, "shown": cell.shown, "share": "", "population": "", "ratio": "",
                 "under": False, "aside": True})
    return rows


def _description(form) -> str:
    data = form.cleaned_data
    parts = [representation.POPULATIONS[data["population"]]]
    if data.get("activity"):
        parts.append(f"in {data['activity'].title}")
    if data.get("programme"):
        parts.append(f"in the {data['programme'].name} programme")
    if data.get("events"):
        parts.append("at " + ", ".join(e.title for e in data["events"]))
    return " ".join(parts)


@staff_view(VIEW_REPORT)
@require_GET
def representation_report(request):
    form, tables = _report(request)
    sections = [{"table": t, "rows": table_rows(t)} for t in tables or []]
    context = {"form": form, "sections": sections, "tables": tables, "area": report_baseline_area(),
               "small": representation.SMALL, "threshold": round(representation.UNDER_REPRESENTED * 100),
               "figures": chart_figures(tables) if tables else [],
               "description": _description(form) if tables is not None else "",
               "query": request.GET.urlencode()}
    return render(request, "segments/representation/report.html", context)


@staff_view(VIEW_REPORT)
@require_GET
def representation_csv(request):
    form, tables = _report(request)
    if tables is None:
        return representation_report(request)  # the form's errors, not a file
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"Who are we missing: {_description(form)}", f"Compared with {report_baseline_area()}"])
    writer.writerows(representation.as_csv_rows(tables))
    # Equality figures leaving the system: on the audit log, with what was asked (no one's answers).
    record_audit(actor=actor_from_request(request), action="equality.report_downloaded",
                 object_type="segments.representation", summary=_description(form)[:200])
    name = f"who-are-we-missing-{timezone.localdate().isoformat()}.csv"
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
