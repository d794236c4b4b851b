"""The waitlist's SMS keywords (registered with messaging's keyword registry in apps.py)."""

from . import services


def answer_yes(text):  # type: ignore[no-untyped-def]
    """YES takes the offer texted to this number; None (front desk's inbox) when there was none."""
    return services.accept_offer(phone=text.phone, now=text.now)


def answer_no(text):  # type: ignore[no-untyped-def]
    """NO passes the offer on to the next person; None when no offer waits for an answer."""
    return services.decline_offer(phone=text.phone, now=text.now)
