"""TCPA quiet hours: texts go out only between SMS_SEND_WINDOW_START_HOUR and _END_HOUR, local time."""

from datetime import UTC, datetime, time, timedelta

from django.conf import settings

# The last moment that still counts as inside the window when moving a text earlier.
_BEFORE_CLOSE = timedelta(minutes=1)


def _opening(day, tz):
    return datetime.combine(day, time(settings.SMS_SEND_WINDOW_START_HOUR), tzinfo=tz).astimezone(UTC)


def _closing(day, tz):
    return datetime.combine(day, time(settings.SMS_SEND_WINDOW_END_HOUR), tzinfo=tz).astimezone(UTC)


def is_allowed(instant, tz):
    day = instant.astimezone(tz).date()
    return _opening(day, tz) <= instant < _closing(day, tz)


def latest_allowed_at_or_before(instant, tz):
    """`instant` if texting is allowed then, else the last allowed minute before it."""
    if is_allowed(instant, tz):
        return instant
    day = instant.astimezone(tz).date()
    if instant >= _closing(day, tz):
        return _closing(day, tz) - _BEFORE_CLOSE
    return _closing(day - timedelta(days=1), tz) - _BEFORE_CLOSE


def next_allowed_at_or_after(instant, tz):
    if is_allowed(instant, tz):
        return instant
    day = instant.astimezone(tz).date()
    if instant < _opening(day, tz):
        return _opening(day, tz)
    return _opening(day + timedelta(days=1), tz)


def seconds_until_window_closes(instant, tz):
    """How long a text sent at `instant` may wait at the carrier before it would land in quiet hours."""
    day = instant.astimezone(tz).date()
    return max(0, int((_closing(day, tz) - instant).total_seconds()))
