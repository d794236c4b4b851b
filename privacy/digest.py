"""The privacy officers' daily digest of requests that are due soon or overdue."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.utils import timezone

from clinic.plain_text import render_plain_text
from clinic.roles import PRIVACY_OFFICER

from .requests_models import DataSubjectRequest, RequestStatus

OPEN = (RequestStatus.RECEIVED, RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS)


def open_requests_by_urgency(*, now=None):
    now = now or timezone.now()
    soon = now + timedelta(days=settings.PRIVACY_DUE_SOON_DAYS)
    rows = list(DataSubjectRequest.objects.filter(status__in=OPEN).exclude(status=RequestStatus.RECEIVED))
    overdue = [r for r in rows if r.deadline < now]
    due_soon = [r for r in rows if now <= r.deadline <= soon]
    return overdue, due_soon


def send_digest(*, now=None):
    overdue, due_soon = open_requests_by_urgency(now=now)
    recipients = list(
        User.objects.filter(is_active=True, groups__name=PRIVACY_OFFICER)
        .exclude(email="")
        .values_list("email", flat=True)
    ) or list(settings.PRIVACY_DIGEST_EMAILS)
    if not recipients or not (overdue or due_soon):
        return 0
    send_mail(
        subject=f"Privacy requests: {len(overdue)} overdue, {len(due_soon)} due soon",
        message=render_plain_text(
            "privacy/email/digest.txt",
            {"overdue": overdue, "due_soon": due_soon, "site_url": settings.SITE_URL},
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
