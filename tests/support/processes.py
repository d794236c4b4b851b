"""Real Celery workers, a private Redis and clinic data for the worker and fault tests.

The worker is a separate process on the test database, so tests using it commit
their data (django_db(transaction=True)). Everything here talks only to
127.0.0.1: the shared Redis (REDIS_URL), a private redis-server, the fake Twilio.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from appointments.models import Appointment
from messaging.models import ReminderRule
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL", "")
requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: set REDIS_URL=redis://... (as .ci/run does)")
WORKER_ARGS = ["--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"]


def midday_zone():
    """A fixed-offset zone where it is around noon now, so quiet hours never interfere."""
    utc_hour = datetime.now(ZoneInfo("UTC")).hour
    offset = (12 - utc_hour + 12) % 24 - 12  # -12..+11
    return "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def database_url():
    """The test database, as a DATABASE_URL for a worker process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def shared_redis_db(number):
    """A database of its own on the shared Redis, flushed first, so no stale task leaks in."""
    import redis

    url = REDIS_URL.rsplit("/", 1)[0] + f"/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


def worker_env(*, broker, twilio_url, **extra):
    """The environment of a worker sending through the Twilio backend to a fake Twilio."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DEBUG": "true",
        "SITE_URL": "http://testserver",
        "SMS_BACKEND": "messaging.backends.twilio.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-auth-token",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "1" * 32,
        "TWILIO_API_BASE_URL": twilio_url,
        **{key: str(value) for key, value in extra.items()},
    }


class Worker:
    """`celery worker` in its own process group; its output goes to a file, shown when it stops."""

    def __init__(self, env, *, concurrency=2):
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the worker; closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "clinic", "worker", f"--concurrency={concurrency}", *WORKER_ARGS],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self):
        """SIGKILL the worker and its pool processes at once: a crashed host, no goodbye to the broker."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()  # a warm shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        with suppress(ProcessLookupError):  # whatever of its group is still there
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.seek(0)
        output = self.log.read()
        self.log.close()
        print(output[-5000:])
        return output


@contextmanager
def running_workers():
    """Yields start(env, **kwargs) -> Worker; every worker started is stopped at the end."""
    started = []

    def start(env, **kwargs):
        started.append(Worker(env, **kwargs))
        return started[-1]

    try:
        yield start
    finally:
        for worker in started:  # all at once: a warm shutdown takes a moment
            if worker.process.poll() is None:
                worker.process.terminate()
        for worker in started:
            worker.stop()


def manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def wait_for(predicate, timeout=45, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


@contextmanager
def publishing_to(broker_url):
    """This (test) process queues tasks on `broker_url` for real, as the web app does, not eagerly."""
    from clinic.celery import app

    eager, url = app.conf.task_always_eager, app.conf.broker_url
    app.conf.task_always_eager, app.conf.broker_url = False, broker_url
    _drop_broker_pools(app)
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = eager, url
        _drop_broker_pools(app)


def workers_answering(count, timeout=30):
    """Wait until `count` workers answer a ping on the broker this process publishes to."""
    from kombu.exceptions import OperationalError

    from clinic.celery import app

    def answering():
        try:
            return len(app.control.ping(timeout=0.5)) >= count
        except OperationalError:  # the broker itself is not back yet
            return False

    return wait_for(answering, timeout=timeout, interval=0.1)


def _drop_broker_pools(app):
    # The connection and producer pools hold connections to the previous URL.
    app._pool = None
    app.amqp._producer_pool = None


def free_port():
    """A local TCP port nobody listens on right now."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of the test's own on a free port: it may be stopped and restarted
    (empty, as a restart without persistence leaves it) without touching the shared one."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tempfile.mkdtemp(prefix="redis-")
        self.process = None

    def start(self):
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)

        def up():
            try:
                return client.ping()
            except redis.exceptions.ConnectionError:
                return False

        assert wait_for(up, timeout=10, interval=0.05), "redis-server did not start"
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def midday_clinic(*, practitioners=1):
    """(location, service, practitioners): open around the clock, in a zone where it is midday now."""
    location, service, people = bookable_clinic(hours=((clock(0), clock(23, 59)),), practitioners=practitioners)
    location.timezone = midday_zone()
    location.save()
    return location, service, people


def appointment_soon(*, location, service, practitioner, phone):
    """An appointment 29 minutes away, booked two hours ago, for a client who accepted reminder texts."""
    client = ClientFactory(mobile_phone=phone)
    record_consent(
        client=client,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="Texts",
        source=ConsentSource.BOOKING_FORM,
    )
    now = datetime.now(ZoneInfo("UTC"))
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=practitioner, client=client, start=now + timedelta(minutes=29)
    )
    Appointment.objects.filter(pk=appointment.pk).update(created_at=now - timedelta(hours=2))
    return appointment


def due_reminders(count, *, phone_prefix):
    """`count` appointments (one client each) with a reminder due now, 30 minutes before. Returns the phones."""
    location, service, people = midday_clinic(practitioners=count)
    ReminderRule.objects.create(location=location, minutes_before=30)
    phones = [f"{phone_prefix}{i:04d}" for i in range(count)]
    for person, phone in zip(people, phones, strict=True):
        appointment_soon(location=location, service=service, practitioner=person, phone=phone)
    return phones
