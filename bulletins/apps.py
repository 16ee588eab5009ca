from django.apps import AppConfig


class BulletinsConfig(AppConfig):
    name = "bulletins"

    def ready(self):
        from anymail.signals import tracking  # noqa: PLC0415 - apps must be loaded first

        from bulletins.provider_events import on_anymail_tracking  # noqa: PLC0415

        # Provider webhooks (bounces, complaints, deliveries) update Delivery rows and suppress.
        tracking.connect(on_anymail_tracking, dispatch_uid="bulletins.provider_events")
