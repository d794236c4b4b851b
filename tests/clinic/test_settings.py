"""Production settings pass Django's deployment checks; no silent insecure defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-secret-with-enough-entropy-1234567890",
    "ALLOWED_HOSTS": "clinic.example",
    "SITE_URL": "https://clinic.example",
    "DATABASE_URL": "sqlite:////tmp/clinic-deploy-check.sqlite3",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "production-twilio-token",
    "TWILIO_MESSAGING_SERVICE_SID": "MG" + "0" * 32,
    "CLINICAL_FORMS_KEYS": "cHJvZHVjdGlvbi1jbGluaWNhbC1mb3Jtcy1rZXktMDE=",
    "PAYMENTS_BACKEND": "payments.backends.stripe.PaymentsBackend",
    "STRIPE_SECRET_KEY": "sk_live_production",
    "STRIPE_WEBHOOK_SECRET": "whsec_production",
}


DROPPED = {
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "SMS_BACKEND",
    # The suite's own settings module turns DEBUG on; these runs use the project's (manage.py's default).
    "DJANGO_SETTINGS_MODULE",
}


def manage(*args, env):
    base = {k: v for k, v in os.environ.items() if k not in DROPPED}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.policy("security")
def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_with_the_local_payments_simulator():
    """Fail closed: DEBUG off and the simulator (deposits and fees confirmed, no money taken) is a start-up error."""
    env = {**PRODUCTION_ENV, "PAYMENTS_BACKEND": "payments.backends.local.PaymentsBackend"}
    result = manage("check", env=env)
    assert result.returncode != 0 and "payments.E003" in result.stdout + result.stderr


def test_production_runs_the_payments_simulator_only_when_allowed_explicitly_and_deploy_check_still_warns():
    env = {
        **PRODUCTION_ENV,
        "PAYMENTS_BACKEND": "payments.backends.local.PaymentsBackend",
        "PAYMENTS_ALLOW_SIMULATOR": "true",
    }
    assert manage("check", env=env).returncode == 0
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0 and "payments.W001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_clinical_forms_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "CLINICAL_FORMS_KEYS"}
    result = manage("check", env=env)
    assert result.returncode != 0 and "CLINICAL_FORMS_KEYS" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_with_debug_unset_there_is_no_development_key_and_the_process_refuses_to_start():
    """Fail closed: DEBUG off by default, so a forgotten DEBUG never falls back to the dev key."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = manage("check", env=env)
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def test_with_debug_unset_texts_go_through_twilio_and_the_production_defaults_apply():
    """Nothing but a key set: not the console SMS backend, secure cookies, HTTPS redirect."""
    show = (
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.SMS_BACKEND, settings.SESSION_COOKIE_SECURE, settings.SECURE_SSL_REDIRECT)"
    )
    env = {"SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"], "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]}
    result = manage("shell", "-c", show, env=env)
    assert "False messaging.backends.twilio.SmsBackend True True" in result.stdout, result.stdout + result.stderr
    # ... and Twilio without its credentials stops the start-up with the reason.
    result = manage("check", env=env)
    assert result.returncode != 0 and "TWILIO_ACCOUNT_SID" in result.stderr


def test_every_environment_variable_the_settings_read_is_documented_in_the_readme():
    import re

    settings_source = (ROOT / "clinic" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', settings_source))
    assert len(read) > 40  # the pattern still finds them
    # Named in the first cell of a row of the configuration table, not merely mentioned somewhere.
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", " ".join(rows)))
    assert sorted(read - documented) == []


def test_filemail_url_writes_to_the_absolute_path_it_names(tmp_path):
    """The README's form, EMAIL_URL=filemail:///abs/path, is an absolute path.

    django-environ alone made it relative.
    """
    outbox = tmp_path / "mail"
    code = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "send_mail('Subject', 'Body', 'a@example.com', ['b@example.com'])"
    )
    env = {
        "EMAIL_URL": f"filemail://{outbox}",
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "DEBUG": "true",
        "DATABASE_URL": "sqlite:////tmp/clinic-filemail.sqlite3",
    }
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = list(outbox.glob("*.log"))
    assert len(written) == 1 and "Subject" in written[0].read_text()


def test_production_turns_staff_two_step_sign_in_on_by_default():
    show = "from django.conf import settings; print('two-factor', settings.STAFF_TWO_FACTOR)"
    assert "two-factor True" in manage("shell", "-c", show, env=PRODUCTION_ENV).stdout
    assert "two-factor False" in manage("shell", "-c", show, env={**PRODUCTION_ENV, "STAFF_TWO_FACTOR": "false"}).stdout


@pytest.mark.policy("security")
def test_check_deploy_warns_when_staff_two_step_sign_in_is_turned_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "STAFF_TWO_FACTOR": "false"})
    assert result.returncode != 0
    assert "clinic.W001" in result.stdout + result.stderr and "STAFF_TWO_FACTOR" in result.stdout + result.stderr


def test_without_site_url_the_links_follow_the_port_make_run_serves_on_and_a_set_site_url_wins():
    # `make run PORT=8123` prints and mails links to the port it serves on, not to a default one.
    base = {k: v for k, v in os.environ.items() if k not in DROPPED | {"SITE_URL", "PORT"}}
    local = {**base, "DEBUG": "true", "DATABASE_URL": "sqlite:////tmp/clinic-port-check.sqlite3", "PORT": "8123"}

    def site_url(env):
        shown = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", "from django.conf import settings; print(settings.SITE_URL)"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert shown.returncode == 0, shown.stderr
        return shown.stdout.strip().splitlines()[-1]

    assert site_url(local) == "http://127.0.0.1:8123"
    assert site_url({**local, "SITE_URL": "https://clinic.example/"}) == "https://clinic.example"
