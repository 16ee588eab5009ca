"""Import a large file of paper sign-ups from the command line: the same checks as the staff page.

    manage.py import_contacts signups.csv --collected-on 2026-11-20 --collected-by "Big Chat team" \\
        --evidence "Box 12, main office" [--method paper_form] [--wording bulletin=3] [--confirm] --user engagement

Without --confirm it only previews: counts, and every rejected line with its reason.
"""

from datetime import date
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from crm.audit import Actor
from segments import imports


class Command(BaseCommand):
    help = "Preview (and with --confirm, apply) an import of contacts from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--user", required=True, help="Staff username the import is recorded under")
        parser.add_argument("--collected-on", required=True, type=date.fromisoformat)
        parser.add_argument("--collected-by", required=True)
        parser.add_argument("--evidence", required=True, help="Where the paper originals are kept")
        parser.add_argument("--method", default="paper_form")
        parser.add_argument("--wording", action="append", default=[], help="purpose=version (default: current)")
        parser.add_argument("--confirm", action="store_true")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None or not user.has_perm("segments.import_contacts"):
            raise CommandError(f"{options['user']!r} is not an active staff member who may import contacts")
        try:
            versions = {k: int(v) for k, v in (item.split("=", 1) for item in options["wording"])}
        except ValueError:
            raise CommandError("--wording takes purpose=version, e.g. bulletin=3") from None
        actor = Actor.staff(user)
        try:
            rows = imports.count_rows(Path(options["file"]), options["file"])
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        # Rows, not steps: the preview reads every row once, a confirmation reads them again as it writes.
        with tqdm(total=rows * (2 if options["confirm"] else 1), desc="import", unit="row",
                  disable=options["verbosity"] < 1, file=self.stderr) as progress:
            try:
                with open(options["file"], "rb") as handle:
                    record, plan = imports.preview_import(
                        content=handle, file_name=options["file"], method=options["method"],
                        statement_versions=versions, collected_on=options["collected_on"],
                        collected_by=options["collected_by"], evidence_reference=options["evidence"], actor=actor,
                        progress=progress.update)
                self._report(plan)
                if options["confirm"]:
                    imports.confirm_import(record=record, actor=actor, progress=progress.update)
            except ValidationError as error:
                raise CommandError("; ".join(error.messages)) from None
        self.stdout.write("Imported." if options["confirm"] else "Preview only: run again with --confirm to import.")

    def _report(self, plan):
        counts = plan.counts()
        self.stdout.write(", ".join(f"{n:,} to {action}" for action, n in counts.items()))
        for outcome in plan.rejected:
            self.stdout.write(f"  line {outcome.line}: {outcome.reason}")
