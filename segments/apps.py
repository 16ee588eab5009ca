from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self):
        from consent.registry import register_erasure_step, register_personal_data_section  # noqa: PLC0415
        from segments.personal_data import erase_invitations, invitations_of  # noqa: PLC0415

        register_personal_data_section("event_invitations", invitations_of)
        register_erasure_step("event_invitations", erase_invitations)

        # The person's invitations, answers and attendance on the staff contact page.
        from consent.registry import register_contact_panel  # noqa: PLC0415
        from segments.personal_data import contact_panel  # noqa: PLC0415

        register_contact_panel("event_invitations", "segments/_contact_panel.html", contact_panel)

        # Engagement activities: named participants are personal data (subject access, erasure, contact page).
        from segments.personal_data import (  # noqa: PLC0415
            activity_panel,
            activity_participations_of,
            erase_activity_participations,
        )

        register_personal_data_section("activity_participations", activity_participations_of)
        register_erasure_step("activity_participations", erase_activity_participations)
        register_contact_panel("activity_participations", "segments/activities/_contact_panel.html", activity_panel)

        # The audit page names activity entries in sentences.
        from segments.activity_audit import register_audit_labels  # noqa: PLC0415

        register_audit_labels()
