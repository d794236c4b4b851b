"""Benchmark: one reminder dispatch pass with 10,000 due appointments, and worker throughput.

Part A: time and query count of one `messaging.reminders.dispatch_due_reminders()`
pass with 1,000 and then 10,000 reminders due (target: queries constant in the
number of appointments, under 5 s).

Part B (needs REDIS_URL): two real Celery worker processes send the queued
texts through the Twilio backend to a local fake Twilio API (target: at least
200 messages/s, or the configured rate cap if lower), then a short run of 100
texts with the configured cap (SMS_SEND_RATE_PER_SECOND, default 10 per sender)
to show the cap holds. Both check exactly-once delivery.

Everything runs against a throwaway database: with a PostgreSQL DATABASE_URL a
fresh `clinic_bench_reminders` database on that server (dropped at the end),
otherwise a temporary SQLite file. Redis database 10 of the REDIS_URL server
is flushed and used as the broker (and for the shared send-rate window).

Run from the repository root:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python bench/reminders.py
    .venv/bin/python bench/reminders.py            # SQLite; part B skipped

Optional: BENCH_SEND_RATE (send rate for the throughput run, default 100000),
BENCH_WORKER_CONN_MAX_AGE (the workers' CONN_MAX_AGE, default 0; the product's is 60; 60 measured the same),
BENCH_PROFILE=1 (cProfile a repeat of the 10,000 pass and print the top entries).
"""

import hashlib
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "clinic_bench_reminders"
BROKER_DB = 10  # a Redis database of its own, flushed first
SMALL, LARGE = 1_000, 10_000
CAPPED_COUNT = 100
THROUGHPUT_RATE = int(os.environ.get("BENCH_SEND_RATE", "100000"))
WORKER_CONN_MAX_AGE = os.environ.get("BENCH_WORKER_CONN_MAX_AGE", "0")
DISPATCH_TARGET_SECONDS = 5.0
THROUGHPUT_TARGET = 200.0
WORKER_CMD = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "clinic",
    "worker",
    "--concurrency=2",
    "--loglevel=WARNING",
    "--without-heartbeat",
    "--without-gossip",
    "--without-mingle",
]

results = {}  # figures for the summary
cleanups = []  # run in reverse order at the end, whatever happened


# --- Environment: throwaway database, broker ------------------------------------


def _replace_path(url, path):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def setup_database():
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://", "pgsql://")):
        import psycopg

        admin_url = url.replace("pgsql://", "postgresql://", 1)

        def admin(sql):
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(sql)

        admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{DB_NAME}"')

        def drop():
            from django.db import connections

            connections.close_all()
            admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')

        cleanups.append(drop)
        os.environ["DATABASE_URL"] = _replace_path(url, f"/{DB_NAME}")
        return f"PostgreSQL database {DB_NAME} (created for this run, dropped at the end)"
    folder = tempfile.mkdtemp(prefix="clinic-bench-reminders-")
    cleanups.append(lambda: shutil.rmtree(folder, ignore_errors=True))
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    return f"SQLite file {folder}/bench.sqlite3 (temporary)"


def setup_redis():
    """The bench's own Redis database URL, or (None, why not)."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return None, "REDIS_URL is not set"
    if urlsplit(url).scheme not in ("redis", "rediss"):
        return None, f"REDIS_URL scheme {urlsplit(url).scheme!r} not supported by this benchmark"
    bench_url = _replace_path(url, f"/{BROKER_DB}")
    try:
        import redis

        client = redis.Redis.from_url(bench_url, socket_connect_timeout=3)
        client.ping()
        client.flushdb()
    except Exception as exc:  # noqa: BLE001 - any failure means: no part B
        return None, f"Redis at REDIS_URL is not reachable ({exc.__class__.__name__}: {exc})"
    cleanups.append(lambda: redis.Redis.from_url(bench_url).flushdb())
    return bench_url, ""


def midday_zone():
    """A fixed-offset zone where it is around noon now, so quiet hours never interfere."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12..+11
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


# --- Data -------------------------------------------------------------------------


def make_clinic():
    from appointments.models import Service
    from clinic.models import Location
    from messaging.models import ReminderRule

    location = Location.objects.create(
        name="Bench Clinic",
        slug="bench-clinic",
        address="1 Main St\nMilpitas, CA 95035",
        phone="+14088211633",
        email="bench@clinic.example",
        timezone=midday_zone(),
    )
    service = Service.objects.create(
        name="Bench Facial", slug="bench-facial", duration_minutes=60, buffer_after_minutes=0, price_text="from $100"
    )
    service.locations.add(location)
    ReminderRule.objects.create(location=location, minutes_before=60)
    return location, service


def add_due(location, service, count, first):
    """`count` opted-in clients, each with an appointment 30-59 minutes away: its 60-minute reminder is due now."""
    from appointments.models import Appointment, AppointmentStatus, Practitioner
    from clinic.models import Client
    from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource

    now = datetime.now(UTC)
    numbers = range(first, first + count)
    # One practitioner per appointment: no two overlap (PostgreSQL exclusion constraint).
    people = Practitioner.objects.bulk_create([Practitioner(name=f"Bench Practitioner {n}") for n in numbers])
    clients = Client.objects.bulk_create(
        [
            Client(
                first_name="Bench",
                last_name=f"Client {n}",
                email=f"bench{n}@example.com",
                mobile_phone=f"+1408{2_000_000 + n:07d}",
                preferred_location=location,
            )
            for n in numbers
        ]
    )
    notice = "Appointment reminders by text. Msg & data rates may apply. Reply STOP to opt out."
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                client=client,
                purpose=ConsentPurpose.SMS_REMINDERS,
                granted=True,
                notice_text=notice,
                notice_sha256=hashlib.sha256(notice.encode()).hexdigest(),
                source=ConsentSource.BOOKING_FORM,
            )
            for client in clients
        ]
    )
    rows = []
    for n, client, person in zip(numbers, clients, people, strict=True):
        start = now + timedelta(minutes=30 + n % 30)
        end = start + service.duration
        rows.append(
            Appointment(
                client=client,
                location=location,
                service=service,
                practitioner=person,
                start=start,
                end=end,
                occupied_until=end + service.buffer_after,
                status=AppointmentStatus.BOOKED,
            )
        )
    Appointment.objects.bulk_create(rows, batch_size=1000)
    Appointment.objects.filter(pk__in=[a.pk for a in rows]).update(created_at=now - timedelta(hours=2))


# --- Part A: one dispatch pass ----------------------------------------------------


def classify(captured):
    kinds = Counter()
    for query in captured:
        sql = query["sql"].lstrip().upper()
        if sql.startswith("INSERT"):
            kinds["insert"] += 1
        elif sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")):
            kinds["transaction"] += 1
        else:
            kinds["other"] += 1  # reads and the enqueued_at update
    return kinds


def expected_insert_batches(rows):
    """How many INSERT statements bulk_create(batch_size=500) needs for `rows` SmsMessage rows here."""
    from django.db import connection
    from django.db.models import AutoField

    from messaging.models import SmsMessage

    if not rows:
        return 0
    fields = [f for f in SmsMessage._meta.concrete_fields if not isinstance(f, AutoField)]
    sample = [SmsMessage()] * rows
    per_batch = min(500, connection.ops.bulk_batch_size(fields, sample) or 500)
    return math.ceil(rows / max(1, per_batch))


def one_pass(label):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging import outbox, reminders
    from messaging.models import MessageStatus, SmsMessage

    broker = {"seconds": 0.0, "tasks": 0, "failed": 0}
    original_enqueue = outbox.enqueue

    def counted_enqueue(*args, **kwargs):  # the broker hand-off, timed on its own
        started = time.perf_counter()
        result = original_enqueue(*args, **kwargs)
        broker["seconds"] += time.perf_counter() - started
        broker["tasks" if result is not None else "failed"] += 1
        return result

    outbox.enqueue = counted_enqueue
    try:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            report = reminders.dispatch_due_reminders()
            elapsed = time.perf_counter() - started
    finally:
        outbox.enqueue = original_enqueue
    kinds = classify(ctx.captured_queries)
    sql_seconds = sum(float(q["time"]) for q in ctx.captured_queries)
    queued_rows = SmsMessage.objects.filter(status=MessageStatus.QUEUED).count()
    figures = {
        "label": label,
        "elapsed": elapsed,
        "queries": len(ctx),
        "kinds": kinds,
        "sql_seconds": sql_seconds,
        "broker": broker,
        "report": report,
        "queued_rows": queued_rows,
        "expected_inserts": expected_insert_batches(report.queued + report.skipped),
    }
    print(
        f"  {label}: {report.queued} reminders queued ({report.skipped} skipped, {report.requeued} re-enqueued, "
        f"{report.given_up} given up); {queued_rows} queued rows in the database"
    )
    failed = f", {broker['failed']} FAILED" if broker["failed"] else ""
    print(
        f"    wall time {elapsed:.3f} s = SQL execute {sql_seconds:.3f} s + broker hand-off {broker['seconds']:.3f} s "
        f"({broker['tasks']} send tasks of up to 50 ids{failed}) "
        f"+ Python and row fetching {max(0.0, elapsed - sql_seconds - broker['seconds']):.3f} s"
    )
    print(
        f"    queries: {len(ctx)} = {kinds['other']} reads/updates + {kinds['insert']} INSERT batches "
        f"(expected {figures['expected_inserts']}) + {kinds['transaction']} savepoint statements"
    )
    if report.skipped_reasons:
        print(f"    skipped reasons: {report.skipped_reasons}")
    return figures


def profile_pass():
    import cProfile
    import pstats

    from messaging.models import SmsMessage
    from messaging.reminders import dispatch_due_reminders

    SmsMessage.objects.all().delete()
    profiler = cProfile.Profile()
    profiler.enable()
    dispatch_due_reminders()
    profiler.disable()
    print("  cProfile of a repeat 10,000 pass (cumulative, top 25):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def part_a(location, service):
    from messaging.models import SmsMessage

    print(f"\nPart A: one dispatch pass (broker: {os.environ['CELERY_BROKER_URL']}, eager off)")
    started = time.perf_counter()
    add_due(location, service, SMALL, 0)
    print(f"  built {SMALL:,} due appointments in {time.perf_counter() - started:.1f} s")
    small = one_pass(f"{SMALL:,} due")
    SmsMessage.objects.all().delete()
    started = time.perf_counter()
    add_due(location, service, LARGE - SMALL, SMALL)
    print(f"  built {LARGE - SMALL:,} more (now {LARGE:,} due) in {time.perf_counter() - started:.1f} s")
    large = one_pass(f"{LARGE:,} due")
    if os.environ.get("BENCH_PROFILE"):
        profile_pass()
    results["a"] = (small, large)


# --- Part B: two worker processes to the fake Twilio --------------------------------


class Arrivals:
    """Wraps the fake's request handler to time-stamp every accepted message."""

    def __init__(self, fake):
        self.times = []
        original = fake._handle

        def handle(*args, **kwargs):
            status, payload = original(*args, **kwargs)
            if status == 201:
                self.times.append(time.monotonic())
            return status, payload

        fake._handle = handle


def start_worker(env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed in stop_worker
    process = subprocess.Popen(WORKER_CMD, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    process.log_path = log_path
    return process


def stop_worker(process):
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()


def log_tail(process, lines=30):
    try:
        return "\n".join(Path(process.log_path).read_text().splitlines()[-lines:])
    except OSError:
        return ""


def worker_env(bench_redis, fake, rate):
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": bench_redis,
        "CELERY_BROKER_URL": bench_redis,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # As in production (DEBUG=true would also keep a log of every query); the keys are this
        # process's, so the workers' contact hashes match the rows it wrote.
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "CONTACT_HASH_KEY": settings.CONTACT_HASH_KEY or settings.SECRET_KEY,
        "CONN_MAX_AGE": WORKER_CONN_MAX_AGE,
        "LOG_LEVEL": "WARNING",
        "SMS_BACKEND": "messaging.backends.twilio.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "TWILIO_API_BASE_URL": fake.url,
        "SMS_SEND_RATE_PER_SECOND": str(rate),
        "PAYMENTS_ALLOW_SIMULATOR": "true",  # the workers start with DEBUG off; no money moves here
    }
    return env


def busiest_second(times):
    """Most arrivals in any 1-second window."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


class LimiterWatch:
    """Samples the shared send-rate window in Redis, collecting the time stamp of every slot granted.

    The `limits` moving window keeps the last `cap` grant times in a Redis list;
    at a low cap each stays there for at least a second, so sampling every 10 ms
    sees them all. This is the cap as the workers enforce it, free of the HTTP
    latency between taking a slot and the text reaching the fake.
    """

    def __init__(self, redis_url):
        import threading

        import redis

        self.redis = redis.Redis.from_url(redis_url)
        self.grants = set()
        self.keys = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for key in self.redis.keys("*sms-sender*"):
                self.keys.add(key.decode())
                self.grants.update(float(v) for v in self.redis.lrange(key, 0, -1))
            time.sleep(0.01)

    def stop(self):
        self._stop.set()
        self._thread.join()
        return sorted(self.grants)


def send_run(label, *, env, expected, arrivals, tmp, timeout, watch_limiter=False):
    """Start a worker on tasks already in the broker; time first to last arrival at the fake."""
    import redis

    from messaging.models import MessageStatus, SmsMessage

    before = len(arrivals.times)
    waiting = redis.Redis.from_url(env["CELERY_BROKER_URL"]).llen("celery")
    watch = LimiterWatch(env["REDIS_URL"]) if watch_limiter else None
    slug = "".join(c if c.isalnum() else "-" for c in label)
    worker = start_worker(env, str(Path(tmp) / f"worker-{slug}.log"))
    started = time.monotonic()
    try:
        deadline = started + timeout
        while len(arrivals.times) - before < expected and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.05)
        arrived = len(arrivals.times) - before
        time.sleep(2)  # a duplicate would have arrived by now
        late = len(arrivals.times) - before - arrived
        exited = worker.poll()
    finally:
        stop_worker(worker)
        grants = watch.stop() if watch else None
    times = arrivals.times[before:]
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    statuses = dict(Counter(SmsMessage.objects.filter(batch__isnull=False).values_list("status", flat=True)))
    print(
        f"  {label}: {waiting} send tasks waiting in the broker"
        f"{f'; WORKER EXITED EARLY (code {exited})' if exited is not None else ''}; "
        f"first text {times[0] - started if times else float('nan'):.1f} s after the worker started"
    )
    rate = (len(times) - 1) / span if span > 0 else 0.0
    print(
        f"    {len(times)} of {expected} texts arrived at the fake ({late} more in the 2 s after the last expected); "
        f"first to last {span:.2f} s = {rate:.0f} messages/s; busiest 1-s window at the fake {busiest_second(times)}"
    )
    print(f"    message rows by status now: {statuses}")
    if len(times) < expected:
        print(f"    worker log tail:\n{log_tail(worker)}")
    run = {
        "arrived": len(times),
        "expected": expected,
        "span": span,
        "rate": rate,
        "busiest": busiest_second(times),
        "sent_rows": statuses.get(MessageStatus.SENT, 0),
        "times": times,
    }
    if grants is not None:
        run["grants"] = len(grants)
        run["busiest_grants"] = busiest_second(grants)
        print(
            f"    send-rate window in Redis ({', '.join(sorted(watch.keys)) or 'no key seen'}): "
            f"{len(grants)} slots granted, "
            f"busiest 1-s window {run['busiest_grants']}"
        )
    return run


def check_exactly_once(fake):
    from django.db.models import Count

    from messaging.models import MessageStatus, SmsMessage

    rows = SmsMessage.objects.count()
    sent = SmsMessage.objects.filter(status=MessageStatus.SENT).count()
    sids_db = set(SmsMessage.objects.exclude(twilio_sid=None).values_list("twilio_sid", flat=True))
    sids_fake = {m["sid"] for m in fake.messages}
    pairs = Counter((m.get("To"), m.get("Body")) for m in fake.messages)
    duplicate_texts = sum(c - 1 for c in pairs.values() if c > 1)
    per_appointment = SmsMessage.objects.values("appointment").annotate(n=Count("id")).filter(n__gt=1).count()
    ok = len(fake.messages) == rows == sent and sids_db == sids_fake and not duplicate_texts and not per_appointment
    print(
        f"  exactly once: {len(fake.messages)} texts at the fake, {rows} message rows ({sent} sent); "
        f"provider sids match: {sids_db == sids_fake}; duplicate To+Body at the fake: {duplicate_texts}; "
        f"appointments with more than one row: {per_appointment} -> {'OK' if ok else 'FAILED'}"
    )
    return ok


def part_b(location, service, bench_redis, tmp):
    import redis
    from django.conf import settings

    from messaging.models import MessageStatus, SmsMessage
    from messaging.outbox import enqueue_due_messages
    from messaging.reminders import dispatch_due_reminders
    from tests.support.fakes.twilio_server import FakeTwilio

    cap = settings.SMS_SEND_RATE_PER_SECOND
    print(
        f"\nPart B: 2 worker processes (prefork, concurrency 2, DEBUG=false, CONN_MAX_AGE={WORKER_CONN_MAX_AGE}), "
        f"Twilio backend -> local fake; broker {bench_redis}"
    )
    fake = FakeTwilio().start()
    cleanups.append(fake.stop)
    arrivals = Arrivals(fake)
    broker = redis.Redis.from_url(bench_redis)

    # 1. Throughput: the 10,000 queued reminders, rate cap raised out of the way.
    broker.flushdb()  # drop part A's tasks: they are queued again below
    SmsMessage.objects.filter(status=MessageStatus.QUEUED).update(enqueued_at=None)
    total = SmsMessage.objects.filter(status=MessageStatus.QUEUED).count()
    enqueued = enqueue_due_messages()
    run = send_run(
        "throughput",
        env=worker_env(bench_redis, fake, THROUGHPUT_RATE),
        expected=total,
        arrivals=arrivals,
        tmp=tmp,
        timeout=max(300, total / 20),
    )
    run["rate_cap"] = THROUGHPUT_RATE
    run["enqueued"] = enqueued
    results["b"] = run

    # 2. The configured cap: 100 new due reminders, queued by a dispatch pass.
    broker.flushdb()
    add_due(location, service, CAPPED_COUNT, LARGE)
    report = dispatch_due_reminders()
    capped = send_run(
        f"configured cap {cap}/s",
        env=worker_env(bench_redis, fake, cap),
        expected=report.queued,
        arrivals=arrivals,
        tmp=tmp,
        timeout=report.queued / max(cap, 1) * 3 + 60,
        watch_limiter=True,
    )
    capped["rate_cap"] = cap
    if capped["span"] > 0:
        # A 1-second moving window lets a second's worth out at once: n texts take (n / cap - 1) s.
        capped["effective"] = capped["arrived"] / (capped["span"] + 1)
        print(
            f"    effective rate {capped['effective']:.1f}/s (n / (first-to-last + 1 s)); ideal first-to-last "
            f"{report.queued / cap - 1:.1f} s"
        )
    results["b_capped"] = capped
    results["exactly_once"] = check_exactly_once(fake)


# --- Summary ----------------------------------------------------------------------


def summary(vendor, skipped_b):
    print("\n" + "=" * 78)
    print(f"SUMMARY (bench/reminders.py on {vendor})")
    if "a" in results:
        small, large = results["a"]
        constant = (
            small["kinds"]["other"] == large["kinds"]["other"]
            and small["kinds"]["transaction"] == large["kinds"]["transaction"]
            and large["kinds"]["insert"] <= large["expected_inserts"]
        )
        fast = large["elapsed"] < DISPATCH_TARGET_SECONDS
        complete = large["report"].queued == LARGE == large["queued_rows"] and not large["broker"]["failed"]
        print(
            f"  A. dispatch pass, {LARGE:,} due: {large['elapsed']:.2f} s ({SMALL:,} due: {small['elapsed']:.2f} s); "
            f"broker hand-off {large['broker']['seconds']:.2f} s of it"
        )
        print(
            f"     queries {large['queries']} ({SMALL:,} due: {small['queries']}); without the bulk INSERT batches "
            f"{large['queries'] - large['kinds']['insert']} vs {small['queries'] - small['kinds']['insert']}; "
            f"INSERT batches {large['kinds']['insert']} vs {small['kinds']['insert']} (bulk_create, up to 500 rows each"
            f"{'; SQLite parameter limit makes them smaller' if vendor == 'sqlite' else ''})"
        )
        print(f"     {large['report'].queued:,} reminders queued, {large['broker']['tasks']} send tasks enqueued")
        print(
            f"     target < {DISPATCH_TARGET_SECONDS:.0f} s: {'MET' if fast else 'NOT MET'}; "
            f"queries constant in appointments (apart from bulk INSERT batches): {'MET' if constant else 'NOT MET'}; "
            f"all {LARGE:,} queued: {'yes' if complete else 'NO'}"
        )
    else:
        print("  A. dispatch pass: did not complete (see the error above)")
    if skipped_b:
        print(f"  B. worker throughput: SKIPPED ({skipped_b})")
    elif "b" in results:
        run = results["b"]
        target = min(THROUGHPUT_TARGET, run["rate_cap"])
        done = run["arrived"] == run["expected"]
        print(
            f"  B. worker throughput (2 processes, rate cap {run['rate_cap']}/s): "
            f"{run['arrived']:,} of {run['expected']:,} "
            f"texts in {run['span']:.1f} s = {run['rate']:.0f} messages/s"
        )
        print(f"     target >= {target:.0f} messages/s: {'MET' if done and run['rate'] >= target else 'NOT MET'}")
        capped = results.get("b_capped")
        if capped:
            cap = capped["rate_cap"]
            holds = (
                capped["arrived"] == capped["expected"]
                and capped.get("grants") == capped["expected"]
                and capped.get("busiest_grants", cap + 1) <= cap
            )
            reaches = capped.get("effective", 0) >= 0.8 * min(cap, THROUGHPUT_TARGET)
            times = capped["times"]
            closest = min((times[i + cap] - times[i] for i in range(len(times) - cap)), default=float("nan"))
            print(
                f"     configured cap {cap}/s: {capped['arrived']} of {capped['expected']} texts, first to last "
                f"{capped['span']:.1f} s, effective {capped.get('effective', 0):.1f}/s"
            )
            print(
                f"     slots granted by the shared Redis window: {capped.get('grants')}, busiest 1-s window "
                f"{capped.get('busiest_grants')}; at the fake: busiest 1-s window {capped['busiest']}, closest "
                f"{cap + 1} consecutive arrivals {closest:.3f} s apart (HTTP latency after the slot is taken)"
            )
            print(
                f"     cap holds (never more than {cap} slots in any second): {'MET' if holds else 'NOT MET'}; "
                f"runs at the cap (>= 80% of it): {'MET' if reaches else 'NOT MET'}"
            )
        if "exactly_once" in results:
            print(
                f"     exactly once (fake texts == message rows, sids match, no duplicates): "
                f"{'MET' if results['exactly_once'] else 'NOT MET'}"
            )
    else:
        print("  B. worker throughput: did not complete (see the error above)")
    print("=" * 78)


def main():
    db_description = setup_database()
    bench_redis, why_no_redis = setup_redis()
    os.environ["DJANGO_SETTINGS_MODULE"] = "clinic.settings"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["CELERY_BROKER_URL"] = bench_redis or "memory://"
    if bench_redis:
        os.environ["REDIS_URL"] = bench_redis
    else:
        os.environ.pop("REDIS_URL", None)
    os.environ["SMS_BACKEND"] = "messaging.backends.locmem.SmsBackend"  # this process never sends
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # As in production (beat's task on a worker): DEBUG off. The timed pass still records its
    # queries (CaptureQueriesContext), which is how the bench counts them.
    os.environ["DEBUG"] = "false"
    os.environ["PAYMENTS_ALLOW_SIMULATOR"] = "true"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))

    import django
    from django.core.management import call_command

    django.setup()
    import logging

    from django.db import connection

    logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # memory:// has no hostname: not news

    vendor = connection.vendor
    print(f"bench/reminders.py: {db_description}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s; location time zone {midday_zone()} (around midday now)")
    skipped_b = "" if bench_redis else why_no_redis + "; set REDIS_URL=redis://host:6379/0 to run two real workers"
    tmp = tempfile.mkdtemp(prefix="clinic-bench-reminders-logs-")
    cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    try:
        location, service = make_clinic()
        part_a(location, service)
        if bench_redis:
            part_b(location, service, bench_redis, tmp)
        else:
            print(f"\nPart B: SKIPPED ({skipped_b})")
    except Exception:  # noqa: BLE001 - report, summarise, clean up, exit 0
        traceback.print_exc(file=sys.stdout)
    finally:
        summary(vendor, skipped_b)


if __name__ == "__main__":
    try:
        main()
    except BaseException:  # noqa: BLE001 - set-up errors and Ctrl-C too: clean up and exit 0
        traceback.print_exc(file=sys.stdout)
    finally:
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception:  # noqa: BLE001
                traceback.print_exc(file=sys.stdout)
    sys.exit(0)
