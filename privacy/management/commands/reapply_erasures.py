from django.core.management.base import BaseCommand, CommandError

from privacy.erasure import BadTombstone, reapply_erasures


class Command(BaseCommand):
    help = "After restoring a backup: erase again the clients erased since it was taken (see erased_contact_hashes)."

    def add_arguments(self, parser):
        parser.add_argument(
            "tombstones_file", help="Output of `manage.py erased_contact_hashes` from the newest database."
        )

    def handle(self, *args, tombstones_file, **options):
        try:
            with open(tombstones_file, encoding="ascii") as f:
                erased = reapply_erasures(lines=f.readlines())
        except (OSError, UnicodeDecodeError, BadTombstone) as exc:
            raise CommandError(f"Cannot use {tombstones_file}: {exc}") from exc
        self.stdout.write(f"Erased again: {len(erased)} client(s) restored from the backup.")
