from django.core.management.base import BaseCommand

from privacy.erasure import export_tombstones


class Command(BaseCommand):
    help = (
        "Print every erasure's tombstone (kind, keyed hash of the email or phone, time), one per line. "
        "Run it on the newest database before restoring an older backup; feed the file to reapply_erasures."
    )

    def handle(self, *args, **options):
        for line in export_tombstones():
            self.stdout.write(line)
