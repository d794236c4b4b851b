"""`manage.py seed_demo`: the demo clinic and a realistic week, from the steps the apps register (clinic.demo)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from clinic.demo import demo_steps


class Command(BaseCommand):
    help = (
        "Create the demo clinic (locations, services, practitioners, hours) and a week of fictional clients, "
        "appointments, texts, a privacy request, a campaign draft and a waitlist. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-week", action="store_true", help="Only the clinic: no clients, bookings or texts.")

    def handle(self, *args, no_week=False, **options):
        for step in demo_steps(week=not no_week, debug=settings.DEBUG):
            line = step.seed()
            if line:
                self.stdout.write(line)
