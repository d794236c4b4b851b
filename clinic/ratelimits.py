"""Rate limits by name (settings.RATE_LIMITS), applied to the public entry points."""

from django.conf import settings
from django_ratelimit.decorators import ratelimit


def _rate(name):
    def rate(group, request):
        return settings.RATE_LIMITS[name]

    return rate


def limit(name, *, key="ip", method="POST"):
    return ratelimit(key=key, rate=_rate(name), method=method, block=True, group=f"clinic.{name}")


def sms_sender_key(group, request):
    return request.POST.get("From", "") or request.META.get("REMOTE_ADDR", "")
