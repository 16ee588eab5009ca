"""manage.py load_demo_activities: demo programmes and engagement activities (after ensure_demo_staff)."""

from django.core.management.base import BaseCommand, CommandError

from crm.audit import Actor
from segments.demo_activities import DemoActivitiesRefused, load_demo_activities


class Command(BaseCommand):
    help = "Load demo programmes and engagement activities in every status. Does nothing if activities exist."

    def handle(self, *args, **options):
        try:
            loaded = load_demo_activities(actor=Actor.system())
        except DemoActivitiesRefused as exc:
            raise CommandError(str(exc)) from exc
        if loaded.skipped:
            self.stdout.write(f"No demo activities loaded: {loaded.skipped}.")
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Loaded {loaded.activities} demo activities in {loaded.programmes} new programmes."))
