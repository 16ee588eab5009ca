from django.conf import settings

from crm.organisation import current


def site(request):
    organisation = current()
    return {"site_name": organisation.service_name, "site_url": settings.SITE_URL, "organisation": organisation}
