"""Staff pages for the engagement activity reports: the governance tables (by programme and status, by
locality, lacking an equality analysis, feedback due) and the yearly summary for the annual report, each
also as a CSV file.

Thin: ``segments.activity_reports`` holds the queries and the definitions. The gate is
``segments.view_activity_reports`` (Engagement, Commissioners and Data protection, granted by
``segments/migrations/0007_activity_permissions``): they answer for engagement at governance meetings.
Communications (who send the feedback) and Administrators do not get it. The reports hold no names of
people who took part, only numbers, so no contact permission is needed.
CSV cells go through ``segments.spreadsheet.neutralise``: a title like "=HYPERLINK(...)" cannot run.
"""

import csv
import io

from django import forms
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.staff.access import staff_view
from crm.templatetags.nhs_dates import long_date
from segments import activity_reports as reports
from segments.models import Activity
from segments.spreadsheet import neutralise

REPORTS = "segments.view_activity_reports"
STATUS_LABELS = [label for _value, label in Activity.Status.choices]


class YearForm(forms.Form):
    year = forms.TypedChoiceField(label="Financial year", coerce=int, choices=(), error_messages={
        "invalid_choice": "Choose a financial year from the list", "required": "Choose a financial year from the list"})

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(year, reports.year_label(year)) for year in years]


def _year(request) -> tuple[YearForm, int | None]:
    """The chosen financial year (this one if none was chosen); None if the choice is not a year on record."""
    years = reports.years_on_record()
    if "year" not in request.GET:
        return YearForm(years=years, initial={"year": years[0]}), years[0]
    form = YearForm(request.GET, years=years)
    return form, (form.cleaned_data["year"] if form.is_valid() else None)


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(cell) for cell in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    # utf-8-sig: a BOM, so Excel reads accented names correctly
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _day(value) -> str:
    return long_date(value) if value else ""


def _table_rows(table: reports.Table):
    for row in [*table.rows, table.totals]:
        yield [row.label, *(row.counts[value] for value in Activity.Status.values), row.total]


# --- the governance page and its files ----------------------------------------------------------------

@staff_view(REPORTS)
@require_GET
def activity_reports(request):
    today = timezone.localdate()
    due = list(reports.feedback_due(today))
    for activity in due:
        activity.weeks = reports.weeks_since(activity.completed_on, today)
    return render(request, "segments/activity_reports/index.html", {
        "status_labels": STATUS_LABELS, "statuses": Activity.Status.values,
        "by_programme": reports.by_programme_and_status(), "by_locality": reports.by_locality_and_status(),
        "no_equality": list(reports.lacking_equality_analysis()), "feedback_due": due,
        "overdue_count": sum(1 for activity in due if activity.overdue), "overdue_weeks": reports.overdue_weeks(),
        "this_year": reports.financial_year_of(today),
    })


@staff_view(REPORTS)
@require_GET
def activity_reports_programme_csv(request):
    return _csv("activities-by-programme-and-status.csv", ["Programme", *STATUS_LABELS, "Total"],
                _table_rows(reports.by_programme_and_status()))


@staff_view(REPORTS)
@require_GET
def activity_reports_locality_csv(request):
    # The note travels with the file: the localities' rows add up to more than the activities.
    header = ["Locality (an activity in two localities counts in each)", *STATUS_LABELS, "Total"]
    return _csv("activities-by-locality-and-status.csv", header, _table_rows(reports.by_locality_and_status()))


@staff_view(REPORTS)
@require_GET
def activity_reports_equality_csv(request):
    rows = ([a.title, a.programme.name, a.get_kind_display(), a.get_status_display(), _day(a.starts_on),
             _day(a.completed_on)] for a in reports.lacking_equality_analysis())
    return _csv("activities-without-equality-analysis.csv",
                ["Activity", "Programme", "Kind", "Status", "Starts", "Completed on"], rows)


@staff_view(REPORTS)
@require_GET
def activity_reports_feedback_csv(request):
    today = timezone.localdate()
    rows = ([a.title, a.programme.name, _day(a.completed_on), reports.weeks_since(a.completed_on, today),
             "Overdue" if a.overdue else "Due", "Written, not yet given" if a.drafted else "Not written"]
            for a in reports.feedback_due(today))
    header = ["Activity", "Programme", "Completed on", "Weeks since completed",
              f"Overdue (more than {reports.overdue_weeks()} weeks)", "What we did"]
    return _csv("completed-activities-feedback-due.csv", header, rows)


# --- the yearly summary and its files ------------------------------------------------------------------

@staff_view(REPORTS)
@require_GET
def activity_year_summary(request):
    form, year = _year(request)
    summary = reports.year_summary(year) if year is not None else None
    return render(request, "segments/activity_reports/year.html", {
        "form": form, "summary": summary, "status_labels": STATUS_LABELS, "statuses": Activity.Status.values,
    })


@staff_view(REPORTS)
@require_GET
def activity_year_csv(request):
    _form, year = _year(request)
    if year is None:
        return HttpResponseBadRequest("Choose a financial year on record", content_type="text/plain")
    header = ["Activity", "Programme", "Kind", "Status today", "Starts", "Completed on", "Equality analysis",
              "Named people who took part", "Counted anonymously", "Feedback published on", "Feedback emailed on",
              "Feedback emailed to (people)", "What changed as a result"]
    rows = ([a.title, a.programme.name, a.get_kind_display(), a.get_status_display(), _day(a.starts_on),
             _day(a.completed_on), _day(a.equality_analysis_on) or "Not recorded", a.named, a.anonymous,
             _day(a.feedback_published_on), _day(a.feedback_sent_at and timezone.localtime(a.feedback_sent_at).date()),
             a.feedback_sent_count if a.feedback_sent_count is not None else "", a.we_did]
            for a in reports.year_activity_rows(year))
    return _csv(f"engagement-activities-{year}-{(year + 1) % 100:02d}.csv", header, rows)


@staff_view(REPORTS)
@require_GET
def activity_year_figures_csv(request):
    _form, year = _year(request)
    if year is None:
        return HttpResponseBadRequest("Choose a financial year on record", content_type="text/plain")
    s = reports.year_summary(year)
    rows = [
        ["Financial year", s.label],
        ["Activities that ran in the year", s.total],
        *([f"Status today: {label.lower()}", s.status_totals[value]] for value, label in Activity.Status.choices),
        ["Completed in the year", s.completed],
        ["With an equality analysis", s.with_equality_analysis],
        ["Named people who took part (each once)", s.named_people],
        ["People counted anonymously (headcounts)", s.anonymous_people],
        ["Completed in the year with feedback given", s.completed_with_feedback],
        ["Completed in the year with feedback emailed to participants", s.feedback_emailed],
        ["People the feedback was emailed to", s.feedback_recipients],
        *([f"Kind: {label}", total] for label, _counts, total in s.by_kind),
    ]
    return _csv(f"engagement-figures-{year}-{(year + 1) % 100:02d}.csv", ["Measure", "Number"], rows)
