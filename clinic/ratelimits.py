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


def client_ip(request):
    """The visitor's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the
    X-Forwarded-For entry the outermost of them appended (earlier entries are the client's say)."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-count] if len(forwarded) >= count else remote
