"""manage.py export_openapi_schema: the API's OpenAPI schema as JSON, with no flags needed.

Takes the place of django-ninja's command of the same name (crm is listed before ninja in
INSTALLED_APPS, and the first app wins), whose default looks for an API mounted at /api/ and so
finds nothing here: ours is crm.api.api at /api/v1/. Its flags (--output, --indent, --sorted,
--api) still work.
"""

from ninja.management.commands.export_openapi_schema import Command as NinjaExportCommand


class Command(NinjaExportCommand):
    help = "Print the API's OpenAPI schema (JSON); --output FILE writes it to a file"

    def _get_api_instance(self, api_path=None):
        return super()._get_api_instance(api_path or "crm.api.api")
