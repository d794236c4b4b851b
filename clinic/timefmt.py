"""One way to write a time in the admin: "Tue 1 Dec 2026, 10:00 AM PST", in the location's zone.

FORMAT_MODULE_PATH (clinic/formats) makes it Django's DATETIME_FORMAT, so every admin list and
form shows it; clinic.middleware.StaffTimezoneMiddleware turns on the zone of the staff member's
locations. Code that writes a time itself (a label, a message) calls admin_datetime().
"""

import zoneinfo
from datetime import datetime

from django.utils import dateformat, timezone

ADMIN_DATETIME_FORMAT = "D j M Y, g:i A T"
ADMIN_TIME_FORMAT = "g:i A"


def admin_datetime(value: datetime | None, zone: "str | zoneinfo.ZoneInfo | None" = None) -> str:
    """`value` in `zone` (a name or a ZoneInfo; default the active zone) in the admin's one format."""
    if value is None:
        return ""
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone or timezone.get_current_timezone()
    return dateformat.format(value.astimezone(tz), ADMIN_DATETIME_FORMAT)


def admin_time(value: datetime, zone: "str | zoneinfo.ZoneInfo | None" = None) -> str:
    tz = zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone or timezone.get_current_timezone()
    return dateformat.format(value.astimezone(tz), ADMIN_TIME_FORMAT)
