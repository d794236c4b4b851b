from django.core.management.base import BaseCommand

from privacy.retention import apply_retention


class Command(BaseCommand):
    help = "Apply the retention rules once (the daily beat task does the same)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count only; change nothing.")

    def handle(self, *args, dry_run, **options):
        counts = apply_retention(dry_run=dry_run)
        label = "Would change" if dry_run else "Changed"
        for category, count in counts.items():
            self.stdout.write(f"{label} {count}: {category}")
