"""Staff pages: the team dashboard and the retention review list.

Contacts, consent wording and cases live in views_contacts.py, views_statements.py and
views_cases.py. Every view is wrapped in ``staff_view`` with the least permission it needs, which is
checked before anything is looked up.
"""

from django.shortcuts import render

from consent import dashboard as dashboard_figures
from consent import retention
from consent.search import keyset_page
from consent.staff.views_contacts import page_params
from crm.staff.access import staff_view


@staff_view("crm.view_dashboard")
def dashboard(request):
    figures = dashboard_figures.dashboard()
    return render(request, "consent_staff/dashboard.html", {
        "figures": figures, "chart": dashboard_figures.chart_data(figures.months),
    })


@staff_view("crm.view_contact", "consent.view_erasurerequest")
def retention_review(request):
    """People with no live consent for two years: the data protection lead decides what to keep."""
    after, before = page_params(request)
    page = keyset_page(retention.contacts_for_review().select_related("locality"), after=after, before=before)
    return render(request, "consent_staff/retention.html", {
        "page": page, "cutoff": retention.review_cutoff(), "last_run": retention.last_run(),
    })
