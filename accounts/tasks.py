"""Account emails go from a worker, not the request: a known address answers as fast as an unknown one."""

import smtplib
from datetime import datetime

from celery import shared_task

RETRY = {"autoretry_for": (OSError, smtplib.SMTPException), "retry_backoff": True, "retry_jitter": True}


@shared_task(**RETRY, max_retries=3)
def send_sign_in_link(challenge_id, nonce):
    """The link of a sign-in request still live (the nonce travels with it: only its hash is stored)."""
    from .services import email_sign_in_link

    return email_sign_in_link(challenge_id=challenge_id, nonce=nonce)


@shared_task(**RETRY, max_retries=3)
def send_sign_in_link_to_address(email):
    """Decide, away from the request, whether this address is on file; if so email it a sign-in link.

    A retry after a mail failure writes a new link; only the newest works (the failed one was never sent).
    """
    from .services import start_email_sign_in_now

    return start_email_sign_in_now(email=email)


@shared_task(**RETRY, max_retries=3)
def send_sign_in_code(phone, ask):
    """Decide, away from the request, whether this number is on file; if so text it a sign-in code."""
    from .services import text_sign_in_code

    return text_sign_in_code(phone=phone, ask=ask)


@shared_task(**RETRY, max_retries=3)
def send_new_device_email(client_id, user_agent, when):
    from .services import email_new_device

    return email_new_device(client_id=client_id, user_agent=user_agent, when=datetime.fromisoformat(when))
