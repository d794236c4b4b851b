from django.conf import settings
from django.core.management.base import BaseCommand

from appointments.demo import ensure_demo_logins, seed_demo_data
from clinical_forms.demo import seed_clinical_forms_demo_data
from privacy.demo import seed_privacy_demo_data


class Command(BaseCommand):
    help = "Create the demo clinic (locations, services, practitioners, hours). Safe to run again."

    def handle(self, *args, **options):
        locations, services = seed_demo_data()
        policy = seed_privacy_demo_data()
        forms = seed_clinical_forms_demo_data()
        self.stdout.write(
            f"Demo clinic ready: {len(locations)} locations, {len(services)} services, "
            f"privacy policy {policy.version}, {len(forms)} clinical forms."
        )
        if settings.DEBUG:
            for username, password in ensure_demo_logins():
                self.stdout.write(
                    f"Local admin login: {settings.SITE_URL}/admin/  user {username}  password {password}"
                )
