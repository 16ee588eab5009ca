"""Staff roles as Django groups, least privilege. Applied by a migration; re-applied by ensure_roles."""

COMMUNICATIONS = "Communications"
ENGAGEMENT = "Engagement"
DATA_PROTECTION = "Data protection"
ADMINISTRATOR = "Administrator"
# Read-only on people: sees every engagement activity, edits only those they lead (segments.activities).
COMMISSIONER = "Commissioner"

# "app_label.codename" for each role. Later apps (segments, bulletins) add theirs in their own migrations.
ROLE_PERMISSIONS = {
    COMMUNICATIONS: [
        "crm.view_dashboard", "crm.view_topic",
    ],
    ENGAGEMENT: [
        "crm.view_dashboard", "crm.view_contact", "crm.add_contact", "crm.change_contact", "crm.merge_contacts",
        "crm.view_topic", "crm.view_organisation", "crm.add_organisation",
        "consent.add_consentevent", "consent.view_consentevent", "consent.view_consentstatement",
    ],
    DATA_PROTECTION: [
        "crm.view_dashboard", "crm.view_contact", "crm.view_equality_data", "crm.view_auditentry",
        "consent.view_consentevent", "consent.add_consentevent",
        "consent.view_consentstatement", "consent.add_consentstatement", "consent.publish_consentstatement",
        "consent.view_subjectaccessrequest", "consent.add_subjectaccessrequest",
        "consent.change_subjectaccessrequest",
        "consent.view_erasurerequest", "consent.add_erasurerequest", "consent.change_erasurerequest",
        "consent.view_suppression",
    ],
    ADMINISTRATOR: [
        "crm.view_dashboard", "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
        "crm.view_staffapitoken", "crm.change_staffapitoken",
    ],
    # No contact, equality or consent permissions: activities show them counts, never people's records.
    COMMISSIONER: ["crm.view_dashboard", "crm.view_topic"],
}
ALL_ROLES = list(ROLE_PERMISSIONS)


def apply_roles(group_model, permission_model, roles: dict[str, list[str]] = ROLE_PERMISSIONS) -> None:
    """Create each group and grant exactly the listed permissions that exist."""
    for role, perms in roles.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            found = permission_model.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is None:
                raise LookupError(f"Permission {perm} does not exist")
            wanted.append(found)
        group.permissions.add(*wanted)


def apply_roles_in_migration(apps, roles: dict[str, list[str]] = ROLE_PERMISSIONS) -> None:
    """For a data migration: create every app's permissions now (Django normally makes them only after
    all migrations), then grant ``roles`` through the migration's historical models."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    apply_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"), roles)
