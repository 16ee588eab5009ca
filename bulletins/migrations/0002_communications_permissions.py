from django.contrib.auth.management import create_permissions
from django.db import migrations

from crm.roles import COMMUNICATIONS, apply_roles

# crm.roles: later apps add their roles' permissions in their own migrations.
# tests/conftest.py _after_flush re-applies this after a flush.
BULLETIN_ROLE_PERMISSIONS = {
    COMMUNICATIONS: [
        "bulletins.add_bulletin", "bulletins.change_bulletin", "bulletins.view_bulletin",
        "bulletins.approve_bulletin", "bulletins.send_bulletin", "bulletins.moderate_comment",
    ],
}


def load(apps, schema_editor):
    # Permissions are normally created after all migrations; the grant needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    apply_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), BULLETIN_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("bulletins", "0001_initial"),
        ("consent", "0004_staff_roles"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
