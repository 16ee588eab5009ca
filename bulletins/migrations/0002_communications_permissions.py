from django.db import migrations

from crm.roles import COMMUNICATIONS, apply_roles_in_migration

# crm.roles: later apps add their roles' permissions in their own migrations.
# tests/conftest.py _after_flush re-applies this after a flush.
BULLETIN_ROLE_PERMISSIONS = {
    COMMUNICATIONS: [
        "bulletins.add_bulletin", "bulletins.change_bulletin", "bulletins.view_bulletin",
        "bulletins.approve_bulletin", "bulletins.send_bulletin", "bulletins.moderate_comment",
    ],
}


def load(apps, schema_editor):
    apply_roles_in_migration(apps, BULLETIN_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("bulletins", "0001_initial"),
        ("consent", "0004_staff_roles"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
