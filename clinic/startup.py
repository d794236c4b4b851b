"""Refuse to start a web or worker process whose configuration Django's checks reject.

gunicorn and Celery do not run `manage.py check`; without this, a wrong
SMS_BACKEND or a missing credential would show only at the first send.
"""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


def refuse_to_start_if_misconfigured() -> None:
    errors = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    if errors:
        raise ImproperlyConfigured("The configuration is not usable:\n" + "\n".join(str(e) for e in errors))
