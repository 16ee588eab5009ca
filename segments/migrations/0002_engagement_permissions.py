from django.db import migrations

from crm.roles import DATA_PROTECTION, ENGAGEMENT, apply_roles_in_migration

# crm.roles: later apps add their roles' permissions in their own migrations.
# tests/conftest.py _after_flush re-applies this after a flush.
SEGMENT_ROLE_PERMISSIONS = {
    ENGAGEMENT: [
        "segments.view_segment", "segments.add_segment", "segments.change_segment", "segments.export_segment",
        "segments.view_event", "segments.add_event", "segments.change_event",
        "segments.view_invitation", "segments.change_invitation", "segments.view_invitationexport",
    ],
    # The data protection lead sees what was exported, by whom and why.
    DATA_PROTECTION: ["segments.view_segment", "segments.view_invitationexport"],
}


def load(apps, schema_editor):
    apply_roles_in_migration(apps, SEGMENT_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0001_initial"),
        ("consent", "0004_staff_roles"),
    ]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
