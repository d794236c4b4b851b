from django.core.management.base import BaseCommand, CommandError

from clinic.models import Client
from privacy.erasure import ErasureRefused, erase_clients, fulfil_erasure_request
from privacy.requests_models import DataSubjectRequest, RequestStatus, RequestType


class Command(BaseCommand):
    help = "Erase (anonymise) the clients with this email: needs a verified deletion request, or --force with --reason."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--force", action="store_true", help="Erase without a verified request (give --reason).")
        parser.add_argument("--reason", default="")

    def handle(self, *args, email, force, reason, **options):
        email = email.strip().lower()
        client_ids = list(Client.objects.filter(email=email).values_list("pk", flat=True))
        if not client_ids:
            raise CommandError("No client has that email address (already erased?).")
        dsr = DataSubjectRequest.objects.filter(
            request_type=RequestType.ERASURE,
            status__in=(RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS),
            clients__in=client_ids,
        ).first()
        if dsr is not None:
            try:
                counts = fulfil_erasure_request(request_id=dsr.pk)
            except ErasureRefused as refusal:
                raise CommandError(str(refusal)) from refusal
            self.stdout.write(f"Erased under request {dsr.reference}: {counts}")
            return
        if not force or not reason.strip():
            raise CommandError(
                "No verified deletion request for that email. Use --force with --reason to erase anyway."
            )
        counts = erase_clients(client_ids=client_ids, reason=f"Forced from the command line: {reason.strip()}")
        self.stdout.write(f"Erased {len(client_ids)} client record(s): {counts}")
