from django.db import migrations

from crm.roles import DATA_PROTECTION, ENGAGEMENT, apply_roles_in_migration

# tests/conftest.py _after_flush re-applies this after a flush.
IMPORT_ROLE_PERMISSIONS = {
    ENGAGEMENT: ["segments.import_contacts", "segments.view_contactimport"],
    DATA_PROTECTION: ["segments.view_contactimport"],
}


def load(apps, schema_editor):
    apply_roles_in_migration(apps, IMPORT_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("segments", "0003_contact_imports")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
