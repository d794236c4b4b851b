from django.conf import settings
from django.core.management.base import BaseCommand

from appointments.demo import ensure_demo_logins, seed_demo_data
from privacy.demo import seed_privacy_demo_data
from waitlist.demo import seed_waitlist_demo_data


class Command(BaseCommand):
    help = "Create the demo clinic (locations, services, practitioners, hours, a waitlist). Safe to run again."

    def handle(self, *args, **options):
        locations, services = seed_demo_data()
        policy = seed_privacy_demo_data()
        entries, offer = seed_waitlist_demo_data()  # after the policy: joining records its acceptance
        self.stdout.write(
            f"Demo clinic ready: {len(locations)} locations, {len(services)} services, "
            f"privacy policy {policy.version}, {len(entries)} waitlist entries, "
            f"{'an' if offer else 'no'} offer waiting (offers go in texting hours)."
        )
        if settings.DEBUG:
            for username, password in ensure_demo_logins():
                self.stdout.write(
                    f"Local admin login: {settings.SITE_URL}/admin/  user {username}  password {password}"
                )
