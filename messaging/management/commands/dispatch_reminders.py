from django.core.management.base import BaseCommand

from messaging.reminders import dispatch_due_reminders


class Command(BaseCommand):
    help = "Run one reminder dispatch pass (the same service beat runs every minute)."

    def handle(self, *args, **options):
        report = dispatch_due_reminders()
        self.stdout.write(
            f"Reminders queued: {report.queued}, skipped: {report.skipped}, "
            f"re-enqueued: {report.requeued}, given up: {report.given_up}"
        )
        for reason, count in report.skipped_reasons.items():
            self.stdout.write(f"  skipped {count}: {reason}")
