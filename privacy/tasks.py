import smtplib

from celery import shared_task

from . import policy


@shared_task
def notify_policy_change(policy_id):
    return policy.queue_policy_notices(policy_id=policy_id)


@shared_task(
    acks_late=True, autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=5
)
def send_policy_notices(notice_ids):
    return sum(policy.send_policy_notice(notice_id=pk) for pk in notice_ids)


@shared_task(autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_request_acknowledgement(request_id):
    from .subject_requests import send_acknowledgement

    return send_acknowledgement(request_id=request_id)


@shared_task
def daily_privacy_housekeeping():
    """Beat, daily: expire unverified requests, complete due erasures, email the digest, apply retention."""
    from .digest import send_digest
    from .erasure import process_due_erasures
    from .policy import resend_pending_notices
    from .retention import apply_retention
    from .subject_requests import expire_unverified_requests, send_pending_acknowledgements

    return {
        "acknowledged": send_pending_acknowledgements(),
        "policy_notices": resend_pending_notices(),
        "expired": expire_unverified_requests(),
        "erased": process_due_erasures(),
        "digest": send_digest(),
        "retention": apply_retention(dry_run=False),
    }
