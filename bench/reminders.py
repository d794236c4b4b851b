"""Benchmark: one reminder dispatch pass for 10,000 due appointments, and worker throughput.

Part A: time and query count of `dispatch_due_reminders` (target: queries
constant in the number of appointments, under 5 s).
Part B (needs REDIS_URL): two real Celery worker processes send the queued
texts through the Twilio backend to a local fake Twilio API (target: at least
200 messages/s, or the configured rate cap if lower).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
     .venv/bin/python bench/reminders.py
"""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock

from harness import ROOT, setup_django

REDIS_URL = os.environ.get("REDIS_URL", "")
BROKER = REDIS_URL.rsplit("/", 1)[0] + "/11" if REDIS_URL else "memory://"
os.environ["CELERY_BROKER_URL"] = BROKER
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
os.environ["SMS_BACKEND"] = "messaging.backends.locmem.SmsBackend"
vendor = setup_django("reminders")

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from appointments.models import Appointment, Practitioner  # noqa: E402
from clinic.models import Client  # noqa: E402
from messaging.models import ReminderRule, SmsMessage  # noqa: E402
from messaging.services import dispatch_due_reminders  # noqa: E402
from privacy.models import ConsentRecord  # noqa: E402
from tests.factories import bookable_clinic  # noqa: E402


def midday_zone():
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


location, service, _ = bookable_clinic(hours=((clock(0), clock(23, 59)),))
location.timezone = midday_zone()
location.save()
ReminderRule.objects.create(location=location, minutes_before=60)


def add_due(count, first):
    """`count` clients who opted in, each with an appointment whose 60-minute reminder is due now."""
    now = datetime.now(UTC)
    people = Practitioner.objects.bulk_create(Practitioner(name=f"P{first + i}") for i in range(count))
    clients = Client.objects.bulk_create(
        Client(first_name="Bench", last_name=str(first + i), email=f"b{first + i}@example.com", mobile_phone=f"+1408{first + i:07d}")
        for i in range(count)
    )
    ConsentRecord.objects.bulk_create(
        ConsentRecord(client=c, purpose="sms_reminders", granted=True, notice_text="Texts", notice_sha256="0" * 64, source="booking_form")
        for c in clients
    )
    rows = []
    for i, (client, person) in enumerate(zip(clients, people)):
        start = now + timedelta(minutes=31 + i % 25)
        rows.append(Appointment(client=client, location=location, service=service, practitioner=person, start=start,
                                end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1)))
    Appointment.objects.bulk_create(rows)
    Appointment.objects.filter(client__in=clients).update(created_at=now - timedelta(hours=3))


def one_pass():
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = dispatch_due_reminders()
        elapsed = time.perf_counter() - started
    inserts = sum(q["sql"].lstrip().upper().startswith("INSERT") for q in queries.captured_queries)
    return report, elapsed, (len(queries) - inserts, inserts)


add_due(1000, 0)
small_report, small_time, small_queries = one_pass()
SmsMessage.objects.all().delete()
add_due(9000, 1000)
report, elapsed, queries = one_pass()
print(f"dispatch on {vendor}: {report.queued} reminders queued in one pass")
print(f"queries: {queries[0]} reads + {queries[1]} batched inserts (1,000 due: {small_queries[0]} + {small_queries[1]})")
print(f"time: {elapsed:.2f} s (1,000 due: {small_time:.2f} s)")
met = queries[0] == small_queries[0] and elapsed < 5
print(f"target: reads constant in the number of appointments, < 5 s -> {'MET' if met else 'NOT MET'}"
      " (inserts are bulk batches of up to 500 rows on PostgreSQL; SQLite's parameter limit makes its batches smaller)")

if not REDIS_URL:
    print("worker throughput: skipped (set REDIS_URL to run two real Celery workers)")
    sys.exit(0)

import redis  # noqa: E402

from tests.fakes.twilio_server import FakeTwilio  # noqa: E402

fake = FakeTwilio().start()
redis.Redis.from_url(BROKER).flushdb()
SmsMessage.objects.update(enqueued_at=None)
env = {
    **os.environ,
    "SMS_BACKEND": "messaging.backends.twilio.SmsBackend",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "bench",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
    "TWILIO_API_BASE_URL": fake.url,
    "SMS_SEND_RATE_PER_SECOND": os.environ.get("SMS_SEND_RATE_PER_SECOND", "100000"),
    "LOG_LEVEL": "WARNING",
}
worker = subprocess.Popen(
    [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--concurrency=2", "--loglevel=WARNING",
     "--without-heartbeat", "--without-gossip", "--without-mingle"],
    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
try:
    time.sleep(3)  # let both worker processes start
    total = SmsMessage.objects.filter(status="queued").count()
    subprocess.run([sys.executable, "manage.py", "shell", "-c",
                    "from messaging.services import enqueue_due_messages; print(enqueue_due_messages())"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    deadline = time.monotonic() + 300
    while not fake.messages and time.monotonic() < deadline:
        time.sleep(0.01)
    first = time.monotonic()
    while len(fake.messages) < total and time.monotonic() < deadline:
        time.sleep(0.05)
    last = time.monotonic()
    sent = len(fake.messages)
    rate = (sent - 1) / (last - first) if sent > 1 else 0.0
    time.sleep(2)
    distinct = len({m["To"] for m in fake.messages})
    print(f"worker throughput: {sent} of {total} texts at the fake Twilio in {last - first:.1f} s = {rate:.0f} messages/s "
          f"(2 worker processes); distinct recipients {distinct}, duplicates {len(fake.messages) - distinct}")
    print(f"target: >= 200 messages/s -> {'MET' if rate >= 200 and sent == total == distinct else 'NOT MET'}")
finally:
    worker.terminate()
    worker.wait(timeout=30)
    fake.stop()
