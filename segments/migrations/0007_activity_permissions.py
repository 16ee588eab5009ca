from django.db import migrations

from crm.roles import (
    COMMISSIONER,
    COMMUNICATIONS,
    DATA_PROTECTION,
    ENGAGEMENT,
    ROLE_PERMISSIONS,
    apply_roles_in_migration,
)

# tests/conftest.py _after_flush re-applies this after a flush.
# Editing is narrowed further by segments.activities: change_activity alone lets a Commissioner edit
# only the activities they lead; change_any_activity (Engagement) lets them edit any.
ACTIVITY_ROLE_PERMISSIONS = {
    ENGAGEMENT: ["segments.view_activity", "segments.add_activity", "segments.change_activity",
                 "segments.change_any_activity", "segments.view_activity_reports", "segments.view_programme"],
    # The Commissioner role is new: its crm permissions too (consent 0004 granted the others' long ago).
    COMMISSIONER: [*ROLE_PERMISSIONS[COMMISSIONER], "segments.view_activity", "segments.change_activity",
                   "segments.view_activity_reports"],
    # Communications sends the "you said, we did" feedback; data protection sees what is recorded.
    COMMUNICATIONS: ["segments.view_activity"],
    DATA_PROTECTION: ["segments.view_activity", "segments.view_activity_reports"],
}


def load(apps, schema_editor):
    apply_roles_in_migration(apps, ACTIVITY_ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("segments", "0006_activities"), ("consent", "0004_staff_roles")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
