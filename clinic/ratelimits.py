"""Rate limits by name (settings.RATE_LIMITS), applied to the public entry points."""

import ipaddress
import logging
from functools import wraps

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
# The counters live in the shared cache (Redis); while it is unreachable, requests go through.
CACHE_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


def _rate(name):
    def rate(group, request):
        return settings.RATE_LIMITS[name]

    return rate


def limit(name, *, key="ip", method="POST"):
    """django-ratelimit's check, failing open: a Redis restart must not turn bookings into 500s."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            try:
                limited = is_ratelimited(
                    request=request,
                    group=f"clinic.{name}",
                    fn=view,
                    key=key,
                    rate=_rate(name),
                    method=method,
                    increment=True,
                )
            except CACHE_UNAVAILABLE as exc:
                logger.warning("Rate limit %s not checked, cache unavailable: %s", name, exc.__class__.__name__)
                limited = False
            request.limited = limited or getattr(request, "limited", False)
            if limited:
                raise Ratelimited()
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


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
    candidate = forwarded[-count] if len(forwarded) >= count else remote
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:  # junk, or an address with a port: never let it reach the limiter
        return remote
