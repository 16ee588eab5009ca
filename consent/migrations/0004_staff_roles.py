from django.db import migrations

from crm.roles import apply_roles_in_migration


def load(apps, schema_editor):
    apply_roles_in_migration(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0003_purposes_and_statements"),
        ("crm", "0002_reference_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
