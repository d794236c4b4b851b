from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from clinic.models import Client
from privacy.export import build_bundle
from privacy.requests_models import AuditAction
from privacy.subject_requests import audit


class Command(BaseCommand):
    help = "Write the export bundle (ZIP) of every client with this email."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--out", required=True, help="Path of the ZIP to write.")

    def handle(self, *args, email, out, **options):
        client_ids = list(Client.objects.filter(email=email.strip().lower()).values_list("pk", flat=True))
        if not client_ids:
            raise CommandError("No client has that email address.")
        Path(out).write_bytes(build_bundle(client_ids=client_ids))
        for client_id in client_ids:
            audit(AuditAction.DATA_EXPORTED, client_id=client_id, actor_label="manage.py export_subject_data")
        self.stdout.write(f"Wrote {out} for {len(client_ids)} client record(s).")
