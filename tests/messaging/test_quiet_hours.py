"""Quiet hours are 21:00 to 08:00 in the clinic location's own time zone, not the server's.

Whether the server's TIME_ZONE is Los Angeles or UTC, a location in New York or Honolulu must
still get its texts only between 08:00 and 21:00 local time, at both ends of
the window and on both sides of midnight. (Found by mutation testing: with the
location's zone dropped, every Los Angeles test still passed.)
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from messaging import quiet_hours

NEW_YORK = ZoneInfo("America/New_York")
HONOLULU = ZoneInfo("Pacific/Honolulu")


def local(tz, day, hour, minute=0):
    return datetime(2026, 12, day, hour, minute, tzinfo=tz)


@pytest.fixture(autouse=True, params=["America/Los_Angeles", "UTC"], ids=["server-la", "server-utc"])
def window_8_to_21_on_a_server_in_another_zone(request, settings):
    settings.SMS_SEND_WINDOW_START_HOUR, settings.SMS_SEND_WINDOW_END_HOUR = 8, 21
    # The server's TIME_ZONE (and so the process's local time), never the locations'. On a UTC
    # server the evening of an American location is already the next day.
    settings.TIME_ZONE = request.param


@pytest.mark.policy("sms-quiet-hours")
@pytest.mark.parametrize("tz", [NEW_YORK, HONOLULU], ids=["new-york", "honolulu"])
def test_window_is_8_to_21_in_the_locations_zone(tz):
    assert not quiet_hours.is_allowed(local(tz, 7, 7, 59), tz)
    assert quiet_hours.is_allowed(local(tz, 7, 8, 0), tz)
    assert quiet_hours.is_allowed(local(tz, 7, 20, 59), tz)
    assert not quiet_hours.is_allowed(local(tz, 7, 21, 0), tz)


@pytest.mark.policy("sms-quiet-hours")
def test_a_reminder_time_inside_the_locations_window_is_kept():
    # 09:00 in New York is 06:00 on the server's clock: still allowed, unchanged.
    at = local(NEW_YORK, 8, 9, 0)
    assert quiet_hours.latest_allowed_at_or_before(at, NEW_YORK) == at
    assert quiet_hours.next_allowed_at_or_after(at, NEW_YORK) == at


@pytest.mark.policy("sms-quiet-hours")
@pytest.mark.parametrize(
    "due, sent",
    [
        ((7, 21, 0), (7, 20, 59)),  # the window closes at 21:00 sharp: the last minute before it
        ((7, 22, 30), (7, 20, 59)),  # late evening: the same evening's last minute
        ((8, 6, 0), (7, 20, 59)),  # early morning: the evening before
        ((8, 0, 30), (7, 20, 59)),  # after midnight: still the evening before
    ],
    ids=["at-close", "evening", "morning", "after-midnight"],
)
def test_a_reminder_due_in_quiet_hours_moves_to_the_last_local_minute_before(due, sent):
    assert quiet_hours.latest_allowed_at_or_before(local(NEW_YORK, *due), NEW_YORK) == local(NEW_YORK, *sent)


@pytest.mark.policy("sms-quiet-hours")
@pytest.mark.parametrize(
    "tz, now, later",
    [
        (NEW_YORK, (8, 6, 0), (8, 8, 0)),  # early morning: this morning's opening
        (NEW_YORK, (7, 22, 0), (8, 8, 0)),  # evening: tomorrow's opening
        (NEW_YORK, (7, 21, 0), (8, 8, 0)),  # at the close itself
        (HONOLULU, (8, 7, 0), (8, 8, 0)),  # 07:00 Honolulu is past 08:00 on the server: still this morning
    ],
    ids=["ny-morning", "ny-evening", "ny-at-close", "honolulu-morning"],
)
def test_a_text_held_for_quiet_hours_goes_at_the_next_local_opening(tz, now, later):
    assert quiet_hours.next_allowed_at_or_after(local(tz, *now), tz) == local(tz, *later)


@pytest.mark.policy("sms-quiet-hours")
def test_the_validity_period_ends_at_the_locations_21_00():
    # Sent at 20:00 New York time, a text may wait at the carrier one hour, not until 21:00 on the server.
    assert quiet_hours.seconds_until_window_closes(local(NEW_YORK, 7, 20, 0), NEW_YORK) == 3600
    assert quiet_hours.seconds_until_window_closes(local(NEW_YORK, 7, 21, 30), NEW_YORK) == 0
