"""Benchmark: the export bundle for one client with 1,000 appointments and 5,000 messages.

Target: a query count that does not grow with the rows, and under 1 s.
Run: .venv/bin/python bench/export.py   (DATABASE_URL=postgres://... to measure on PostgreSQL)
"""

from datetime import UTC, datetime, timedelta

from harness import setup_django, timed

vendor = setup_django("export")

from appointments.models import Appointment  # noqa: E402
from messaging.models import SmsMessage  # noqa: E402
from privacy.export import build_bundle  # noqa: E402
from privacy.models import ConsentRecord  # noqa: E402
from tests.support.builders import ClientFactory, bookable_clinic  # noqa: E402


def add_history(client, location, service, people, appointments, messages, start):
    Appointment.objects.bulk_create(
        Appointment(
            client=client,
            location=location,
            service=service,
            practitioner=people[i % len(people)],
            start=start + timedelta(hours=2 * i),
            end=start + timedelta(hours=2 * i, minutes=60),
            occupied_until=start + timedelta(hours=2 * i, minutes=60),
            notes="Prefers mornings",
        )
        for i in range(appointments)
    )
    SmsMessage.objects.bulk_create(
        SmsMessage(
            to_number=str(client.mobile_phone),
            body=f"Reminder {i}",
            client=client,
            location=location,
            status="delivered",
        )
        for i in range(messages)
    )
    ConsentRecord.objects.bulk_create(
        ConsentRecord(
            client=client,
            purpose="sms_reminders",
            granted=True,
            notice_text="Texts",
            notice_sha256="0" * 64,
            source="booking_form",
        )
        for _ in range(20)
    )


location, service, people = bookable_clinic(practitioners=10)
small = ClientFactory()
add_history(small, location, service, people, appointments=10, messages=50, start=datetime(2019, 1, 7, 17, tzinfo=UTC))
large = ClientFactory()
add_history(
    large, location, service, people, appointments=1000, messages=5000, start=datetime(2020, 1, 6, 17, tzinfo=UTC)
)

_, small_median, _, small_queries = timed(lambda: build_bundle(client_ids=[small.pk]), runs=5)
bundle, median, fastest, queries = timed(lambda: build_bundle(client_ids=[large.pk]), runs=10)

print(f"export bundle on {vendor}: 1 client, 1,000 appointments, 5,000 messages, 20 consent records")
print(f"bundle size: {len(bundle) / 1024:.0f} KiB")
print(f"queries: {queries} (small client with 10 appointments and 50 messages: {small_queries})")
print(
    f"time: median {median * 1000:.0f} ms, min {fastest * 1000:.0f} ms (10 runs); "
    f"small client {small_median * 1000:.0f} ms"
)
met = queries == small_queries and median < 1.0
print(f"target: constant queries, < 1 s -> {'MET' if met else 'NOT MET'}")
