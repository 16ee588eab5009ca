"""manage.py ensure_demo_staff: one demo account per staff role, with known password and backup codes."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from crm.audit import Actor
from crm.demo_staff import DEMO_BACKUP_CODES, DEMO_PASSWORD, DemoStaffRefused, ensure_demo_staff


class Command(BaseCommand):
    help = "Create or restore the demo staff accounts (one per role, two for Communications) and print how to sign in."

    def handle(self, *args, **options):
        try:
            accounts = ensure_demo_staff(actor=Actor.system())
        except DemoStaffRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Staff sign-in:  {settings.SITE_URL}{reverse('staff:login')}")
        for staff in accounts:
            self.stdout.write(f"  username {staff.username:<11} role {staff.role}")
        self.stdout.write(f"  password       {DEMO_PASSWORD}  (every demo account)")
        self.stdout.write(f"  second factor  a backup code, each usable once: {', '.join(DEMO_BACKUP_CODES)}")
