"""Checks that a webhook really comes from Twilio (X-Twilio-Signature)."""

from django.conf import settings
from twilio.request_validator import RequestValidator


def public_url(request):
    # Twilio signs the URL it called: our public SITE_URL, not whatever host
    # or scheme a proxy in front of us passed along.
    return settings.SITE_URL + request.get_full_path()


def is_from_twilio(request):
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(public_url(request), request.POST.dict(), signature)
