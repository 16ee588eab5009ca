"""manage.py rotate_suppression_pepper: re-hash addresses with the first pepper of SUPPRESSION_PEPPERS."""

from django.core.management.base import BaseCommand

from consent.pepper_rotation import rotate_suppression_pepper
from crm.audit import Actor
from crm.normalise import current_pepper_key_id


class Command(BaseCommand):
    help = (
        "Re-hash every contact's address, and the suppressions of addresses someone holds, with the current "
        "suppression pepper (the first of SUPPRESSION_PEPPERS). Reports suppressions still hashed with an "
        "older pepper (erased people's): keep that pepper listed until its count is 0."
    )

    def handle(self, *args, **options):
        result = rotate_suppression_pepper(actor=Actor.system())
        self.stdout.write(f"Current pepper: {current_pepper_key_id()}. Re-hashed {result.contacts_rehashed} "
                          f"contacts and {result.suppressions_rehashed} suppressions.")
        if result.still_under_old_keys:
            for key_id, count in sorted(result.still_under_old_keys.items()):
                self.stdout.write(f"{count} suppressions of addresses nobody holds still need pepper "
                                  f"{key_id or '(unnamed)'}: keep it in SUPPRESSION_PEPPERS.")
        else:
            self.stdout.write("No suppression needs an older pepper: older peppers can be removed.")
