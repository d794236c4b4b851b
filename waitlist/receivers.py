"""What the waitlist hears from appointments and messaging."""

from . import services


def on_time_freed(sender, **freed):  # type: ignore[no-untyped-def]
    services.record_freed_time(**freed)


def on_sms_opted_out(sender, phone, **kwargs):  # type: ignore[no-untyped-def]
    services.withdraw_offers_to_number(phone=phone)
