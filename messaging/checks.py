"""Start-up checks: a wrong SMS_BACKEND or missing Twilio credentials fail at
`manage.py check` and process start, not at the first text (which might be a STOP reply)."""

from django.conf import settings
from django.core import checks

from clinic.checks import backend_setting_errors

from .backends.base import BaseSmsBackend

TWILIO_BACKEND = "messaging.backends.twilio.SmsBackend"
# The token settings give TWILIO_AUTH_TOKEN with DEBUG on (for manage.py simulate_sms); never Twilio's.
DEV_TWILIO_AUTH_TOKEN = "dev-only-twilio-token"


@checks.register("sms")
def sms_backend_is_usable(app_configs=None, **kwargs):
    errors = backend_setting_errors(
        setting="SMS_BACKEND",
        base=BaseSmsBackend,
        kind="an SMS backend",
        hint="Use messaging.backends.console.SmsBackend, messaging.backends.locmem.SmsBackend "
        "or messaging.backends.twilio.SmsBackend.",
        check_id="messaging.E001",
    )
    if errors:
        return errors
    if settings.SMS_BACKEND != TWILIO_BACKEND:
        return []
    missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, name)]
    errors = [
        checks.Error(
            f"SMS_BACKEND is Twilio but {name} is not set.",
            hint="Set it from the Twilio console; the auth token also checks webhook signatures.",
            id="messaging.E002",
        )
        for name in missing
    ]
    if settings.TWILIO_AUTH_TOKEN == DEV_TWILIO_AUTH_TOKEN:
        errors.append(
            checks.Error(
                "SMS_BACKEND is Twilio but TWILIO_AUTH_TOKEN is the development token.",
                hint="Set the real auth token from the Twilio console.",
                id="messaging.E004",
            )
        )
    if not (settings.TWILIO_MESSAGING_SERVICE_SID or settings.TWILIO_FROM_NUMBER):
        errors.append(
            checks.Warning(
                "Neither TWILIO_MESSAGING_SERVICE_SID nor TWILIO_FROM_NUMBER is set: only locations with "
                "their own SMS sender number can text.",
                id="messaging.W003",
            )
        )
    return errors
