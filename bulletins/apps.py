from django.apps import AppConfig


class BulletinsConfig(AppConfig):
    name = "bulletins"

    def ready(self):
        from anymail.signals import tracking  # noqa: PLC0415 - apps must be loaded first

        from bulletins.provider_events import on_anymail_tracking  # noqa: PLC0415

        # Provider webhooks (bounces, complaints, deliveries) update Delivery rows and suppress.
        tracking.connect(on_anymail_tracking, dispatch_uid="bulletins.provider_events")

        # A person's deliveries and comments: in their data export, and gone when they are erased.
        from bulletins import personal_data  # noqa: PLC0415
        from consent import registry  # noqa: PLC0415

        registry.register_personal_data_section("bulletin_deliveries", personal_data.deliveries_section)
        registry.register_personal_data_section("bulletin_comments", personal_data.comments_section)
        registry.register_erasure_step("bulletins", personal_data.erase_bulletin_rows)
        # The staff contact page lists the bulletins sent to the person.
        registry.register_contact_panel("bulletins", "bulletins/staff/_contact_panel.html", personal_data.contact_panel)
