"""`manage.py seed_demo`: the demo clinic and a realistic week. Here, in messaging, because the week's
texts and campaign draft need every app below it (clinic <- appointments <- messaging)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from appointments.demo import DEMO_CLIENTS, demo_phone, ensure_demo_logins, seed_demo_data, seed_demo_week
from messaging.demo import seed_demo_campaign, seed_demo_texts
from privacy.demo import seed_demo_privacy_request, seed_privacy_demo_data


class Command(BaseCommand):
    help = (
        "Create the demo clinic (locations, services, practitioners, hours) and a week of fictional clients, "
        "appointments, texts, a privacy request and a campaign draft. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-week", action="store_true", help="Only the clinic: no clients, bookings or texts.")

    def handle(self, *args, no_week=False, **options):
        locations, services = seed_demo_data()
        policy = seed_privacy_demo_data()
        self.stdout.write(
            f"Demo clinic ready: {len(locations)} locations, {len(services)} services, privacy policy {policy.version}."
        )
        if not no_week:
            clients = seed_demo_week()
            new_texts = seed_demo_texts(clinic_number=str(locations["milpitas"].phone))
            request = seed_demo_privacy_request()
            campaign = seed_demo_campaign()
            self.stdout.write(
                f"Demo week ready: {len(clients)} fictional clients with appointments from two days ago to four "
                f"days ahead, {new_texts} new texts in the inbox, privacy request {request.reference} due "
                f"{request.deadline:%Y-%m-%d}, campaign draft “{campaign.name}”."
            )
        if settings.DEBUG:
            self.stdout.write(f"Booking site: {settings.SITE_URL}/")
            for username, password in ensure_demo_logins():
                self.stdout.write(
                    f"Local admin login: {settings.SITE_URL}/admin/  user {username}  password {password}"
                )
            self.stdout.write(
                "Two-way texts without Twilio (another terminal): DEBUG=true .venv/bin/python manage.py "
                f"simulate_sms --url {settings.SITE_URL} --from {demo_phone(DEMO_CLIENTS[9][2])} C"
            )
