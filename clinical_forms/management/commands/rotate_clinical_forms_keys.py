from django.core.management.base import BaseCommand

from clinical_forms.services import reencrypt_with_first_key


class Command(BaseCommand):
    help = (
        "Re-encrypt every clinical form's answers and signature with the first key of CLINICAL_FORMS_KEYS. "
        "Run after putting a new key first; then the old key can be removed."
    )

    def handle(self, *args, **options):
        count = reencrypt_with_first_key()
        self.stdout.write(f"Re-encrypted {count} clinical forms with the first key of CLINICAL_FORMS_KEYS.")
