"""``manage.py load_organisation FILE``: set the service up for an NHS organisation from its file.

Checks the organisation file and the population baseline it names (errors say which line), then
makes the database's localities and postcode districts the file's and re-points the contacts a
changed map moves (``crm.localities``). Pages read the name, contacts and privacy wording from the
file named by MYNHS_ORGANISATION_FILE; point that at the same file. ``--check`` changes nothing.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.audit import Actor
from crm.localities import apply_organisation_localities
from crm.organisation import OrganisationFileError, load, read_baseline


class Command(BaseCommand):
    help = "Load an organisation file (TOML): check it, then put its localities and postcode districts in the database."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the organisation file, e.g. crm/data/demo-organisation.toml")
        parser.add_argument("--check", action="store_true", help="only check the file and its baseline")

    def handle(self, *args, **options):
        path = Path(options["file"]).resolve()
        try:
            organisation = load(str(path))
        except OrganisationFileError as error:
            raise CommandError(str(error)) from None
        baseline = read_baseline(organisation.baseline_file)
        residents = sum(baseline["sex"].values())
        self.stdout.write(f"{organisation.name} ({organisation.service_name}): {len(organisation.localities)} "
                          f"localities, {organisation.district_count} postcode districts; population baseline "
                          f"{organisation.baseline_area}, {residents:,} residents")
        if options["check"]:
            self.stdout.write("The file is valid; nothing was changed (--check).")
            return
        changes = apply_organisation_localities(organisation=organisation, actor=Actor.system())
        self.stdout.write(
            f"Localities created: {len(changes.localities_created)}, removed: {len(changes.localities_removed)}; "
            f"postcode districts created: {changes.districts_created}, moved: {changes.districts_moved}, "
            f"removed: {changes.districts_removed}; contacts given a new locality: {changes.contacts_moved}"
        )
        if Path(settings.ORGANISATION_FILE).resolve() != path:
            self.stderr.write(f"Note: pages show the organisation named by MYNHS_ORGANISATION_FILE "
                              f"({settings.ORGANISATION_FILE}); set it to {path} as well.")
