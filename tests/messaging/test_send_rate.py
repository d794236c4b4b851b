"""The per-sender send rate caps how fast one number sends, whatever the number of workers."""

import time
import uuid

from messaging.throttle import wait_for_send_slot


def test_sender_never_exceeds_its_rate_in_any_second(settings):
    settings.SMS_SEND_RATE_PER_SECOND = 3
    sender = f"+1408555{uuid.uuid4().int % 10000:04d}-{uuid.uuid4().hex}"
    asked, granted = [], []
    for _ in range(7):
        asked.append(time.monotonic())
        wait_for_send_slot(sender)
        granted.append(time.monotonic())
    # In every window of 1 s there are at most 3 sends: send i+3 is granted >= 1 s after send i.
    # Each slot is taken between asking and returning, so from asking for send i to getting send
    # i+3 is at least that second, however late a busy machine lets this thread run again.
    assert all(granted[i + 3] - asked[i] >= 0.99 for i in range(len(granted) - 3))


def test_senders_are_limited_separately(settings):
    settings.SMS_SEND_RATE_PER_SECOND = 2
    started = time.monotonic()
    for sender in [f"a-{uuid.uuid4().hex}", f"b-{uuid.uuid4().hex}"]:
        wait_for_send_slot(sender)
        wait_for_send_slot(sender)
    assert time.monotonic() - started < 0.5  # two each: nobody had to wait
