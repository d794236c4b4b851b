from django.core.management.base import BaseCommand, CommandError

from privacy.erasure import reapply_erasures


class Command(BaseCommand):
    help = "After restoring a backup: erase again every client whose number or address is in the file of erased hashes."

    def add_arguments(self, parser):
        parser.add_argument("hashes_file", help="Output of `manage.py erased_contact_hashes` from the newest database.")

    def handle(self, *args, hashes_file, **options):
        try:
            with open(hashes_file, encoding="ascii") as f:
                hashes = {line.strip() for line in f if line.strip()}
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {hashes_file}: {exc}") from exc
        erased = reapply_erasures(contact_hashes=hashes)
        self.stdout.write(f"Erased again: {len(erased)} client(s) restored from the backup.")
