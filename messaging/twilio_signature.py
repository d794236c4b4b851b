"""Checks that a webhook really comes from Twilio (X-Twilio-Signature)."""

from django.conf import settings
from twilio.request_validator import RequestValidator


def public_url(request):
    # Twilio signs the URL it called: our public SITE_URL, not whatever host
    # or scheme a proxy in front of us passed along.
    return settings.SITE_URL + request.get_full_path()


def is_from_twilio(request):
    signature = request.headers.get("X-Twilio-Signature", "")
    tokens = [t for t in (settings.TWILIO_AUTH_TOKEN, *settings.TWILIO_AUTH_TOKEN_FALLBACKS) if t]
    if not signature or not tokens:
        return False
    url, params = public_url(request), request.POST.dict()
    return any(RequestValidator(token).validate(url, params, signature) for token in tokens)
