"""manage.py load_demo: an invented population of south Sefton for demonstrations and load tests."""

import sys
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from consent.demo.loader import DemoRefused, load_demo, reset_demo
from crm.audit import Actor
from crm.models import Contact


class Command(BaseCommand):
    help = (
        "Load demo contacts (south Sefton) with topics, consent history, withdrawals, communication needs "
        "and equality answers. Does nothing if contacts exist, unless --reset."
    )

    def add_arguments(self, parser):
        parser.add_argument("--contacts", type=int, default=2000, help="How many people (default 2000).")
        parser.add_argument("--seed", type=int, default=2026, help="Same seed, same people (default 2026).")
        parser.add_argument("--reset", action="store_true",
                            help="Remove the existing demo contacts first (other contacts are kept).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, contacts, seed, reset, no_progress, **options):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1")
        actor = Actor.system()
        try:
            if reset:
                removed = reset_demo(actor=actor)
                self.stdout.write(f"Removed {removed} demo contacts.")
            existing = Contact.objects.count()
            if existing and not reset:
                self.stdout.write(f"{existing} contacts already exist: nothing loaded (--reset replaces the demo "
                                  "contacts).")
                return
            started = time.perf_counter()
            with tqdm(total=contacts, unit="contacts", disable=no_progress, file=sys.stderr) as bar:
                summary = load_demo(contacts=contacts, seed=seed, actor=actor, on_batch=bar.update)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        seconds = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {summary.contacts} demo contacts ({summary.rows} rows: {summary.consent_events} consent "
            f"events, {summary.withdrawals} withdrawals, {summary.equality_profiles} equality profiles, "
            f"{summary.communication_needs} communication needs) in {seconds:.1f}s."
        ))
