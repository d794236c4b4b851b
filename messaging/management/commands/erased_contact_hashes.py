from django.core.management.base import BaseCommand

from messaging.personal_data import erased_contact_hashes


class Command(BaseCommand):
    help = (
        "Print the keyed hashes of every erased phone number and email address, one per line. "
        "Run it on the newest database before restoring an older backup; feed the file to reapply_erasures."
    )

    def handle(self, *args, **options):
        for value in erased_contact_hashes():
            self.stdout.write(value)
