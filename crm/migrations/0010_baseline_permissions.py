from django.db import migrations

from crm.roles import ADMINISTRATOR, DATA_PROTECTION, apply_roles_in_migration

# Who may upload another area's census baseline (the report's comparison figures). Engagement only
# reads the report. tests/conftest.py _after_flush re-applies this after a flush.
BASELINE_ROLE_PERMISSIONS = {
    ADMINISTRATOR: ["crm.add_populationbaseline", "crm.view_populationbaseline"],
    DATA_PROTECTION: ["crm.add_populationbaseline", "crm.view_populationbaseline"],
}


def load(apps, schema_editor):
    apply_roles_in_migration(apps, BASELINE_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("crm", "0009_population_baseline")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
