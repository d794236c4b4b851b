"""A wrong SMS backend or missing Twilio credentials stop `manage.py check`, the web
process and the worker at start-up with a clear message, not at the first text."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ENV = {
    "DEBUG": "true",
    "DATABASE_URL": "sqlite:////tmp/clinic-config-check.sqlite3",
    "CELERY_BROKER_URL": "memory://",
}
DROPPED = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMS_BACKEND", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}


def run(args, env, timeout=60):
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return subprocess.run(
        args, cwd=ROOT, env={**base, **LOCAL_ENV, **env}, capture_output=True, text=True, timeout=timeout
    )


def test_an_unknown_sms_backend_fails_manage_check():
    result = run([sys.executable, "manage.py", "check"], {"SMS_BACKEND": "messaging.backends.nowhere.SmsBackend"})
    assert result.returncode != 0
    assert "messaging.E001" in result.stderr and "SMS_BACKEND" in result.stderr


def test_a_class_that_is_not_an_sms_backend_fails_manage_check():
    result = run(
        [sys.executable, "manage.py", "check"], {"SMS_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    )
    assert result.returncode != 0 and "is not an SMS backend" in result.stderr


def test_twilio_without_credentials_fails_manage_check_naming_what_is_missing():
    result = run([sys.executable, "manage.py", "check"], {"SMS_BACKEND": "messaging.backends.twilio.SmsBackend"})
    assert result.returncode != 0
    assert "TWILIO_ACCOUNT_SID" in result.stderr and "TWILIO_AUTH_TOKEN" in result.stderr


def test_twilio_with_credentials_passes():
    env = {
        "SMS_BACKEND": "messaging.backends.twilio.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
    }
    result = run([sys.executable, "manage.py", "check", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr


def test_the_web_process_refuses_to_start_with_a_bad_sms_backend():
    code = "import clinic.wsgi"
    bad = run([sys.executable, "-c", code], {"SMS_BACKEND": "messaging.backends.nowhere.SmsBackend"})
    assert bad.returncode != 0
    assert "ImproperlyConfigured" in bad.stderr and "SMS_BACKEND" in bad.stderr
    good = run([sys.executable, "-c", code], {})
    assert good.returncode == 0, good.stderr


def test_the_worker_refuses_to_start_with_missing_twilio_credentials():
    worker = [sys.executable, "-m", "celery", "-A", "clinic", "worker", "--pool", "solo", "--loglevel", "WARNING"]
    result = run(worker, {"SMS_BACKEND": "messaging.backends.twilio.SmsBackend"}, timeout=30)
    assert result.returncode != 0
    assert "TWILIO_ACCOUNT_SID" in result.stderr
