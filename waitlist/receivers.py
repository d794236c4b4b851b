"""What the waitlist hears from appointments."""

from . import services


def on_time_freed(sender, **freed):  # type: ignore[no-untyped-def]
    services.record_freed_time(**freed)
