import smtplib

from celery import shared_task

from . import policy


@shared_task
def notify_policy_change(policy_id):
    return policy.queue_policy_notices(policy_id=policy_id)


@shared_task(acks_late=True, autoretry_for=(OSError, smtplib.SMTPException), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_policy_notices(notice_ids):
    return sum(policy.send_policy_notice(notice_id=pk) for pk in notice_ids)
