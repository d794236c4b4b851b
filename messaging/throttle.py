"""Per-sender send rate (SMS_SEND_RATE_PER_SECOND), shared by every worker through Redis.

A moving window from the `limits` library; without REDIS_URL the window is per
process, which is all a single local process needs.
"""

import time
from functools import lru_cache

from django.conf import settings
from limits import RateLimitItemPerSecond, storage, strategies

from .backends.base import TransientSendError

MAX_WAIT_SECONDS = 30


@lru_cache(maxsize=4)
def _limiter(uri):
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri))


def wait_for_send_slot(sender):
    """Block until `sender` may send one more message this second."""
    limiter = _limiter(settings.REDIS_URL or "memory://")
    item = RateLimitItemPerSecond(settings.SMS_SEND_RATE_PER_SECOND)
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while not limiter.hit(item, "sms-sender", sender):
        if time.monotonic() > deadline:
            raise TransientSendError("Send rate limit: waited too long for a slot.")
        reset_at = limiter.get_window_stats(item, "sms-sender", sender).reset_time
        time.sleep(min(0.25, max(0.005, reset_at - time.time())))
