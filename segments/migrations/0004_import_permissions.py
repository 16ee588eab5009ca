from django.contrib.auth.management import create_permissions
from django.db import migrations

from crm.roles import DATA_PROTECTION, ENGAGEMENT, apply_roles

# tests/conftest.py _after_flush re-applies this after a flush.
IMPORT_ROLE_PERMISSIONS = {
    ENGAGEMENT: ["segments.import_contacts", "segments.view_contactimport"],
    DATA_PROTECTION: ["segments.view_contactimport"],
}


def load(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    apply_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), IMPORT_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("segments", "0003_contact_imports")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
