"""Retention: personal data is kept only as long as the README's table says.

- text message contents: RETENTION_SMS_BODY_DAYS (365);
- privacy requests the requester never acted on: purged after RETENTION_UNVERIFIED_REQUEST_DAYS (30);
- the register of verified requests is kept (at least 24 months, as CCPA requires);
- clients with no appointment for RETENTION_INACTIVE_CLIENT_YEARS (7) are anonymised;
- erasure tombstones go a day after BACKUP_RETENTION_DAYS (35): by then every backup
  that could be restored already holds the erasure itself.
"""

import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta
from django.apps import apps
from django.conf import settings
from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from clinic.models import Client

from .requests_models import AuditAction, DataSubjectRequest, ErasureTombstone, RequestStatus
from .subject_requests import audit

logger = logging.getLogger(__name__)
SMS_RETENTION_MARK = "[removed after the retention period]"


def apply_retention(*, dry_run=False, now=None):
    """One pass; returns {category: count}. With dry_run, counts only."""
    from .erasure import erase_clients

    now = now or timezone.now()
    counts = {}

    SmsMessage = apps.get_model("messaging", "SmsMessage")
    old_sms = SmsMessage.objects.filter(created_at__lt=now - timedelta(days=settings.RETENTION_SMS_BODY_DAYS)).exclude(
        body__in=[SMS_RETENTION_MARK, "[erased]"]
    )
    counts["sms_bodies"] = old_sms.count() if dry_run else old_sms.update(body=SMS_RETENTION_MARK)

    # Only requests the requester never acted on: the link reached them (acknowledged) and
    # was never used. One stuck because we could not reach them stays (and stays on the register).
    unverified = DataSubjectRequest.objects.filter(
        status__in=(RequestStatus.RECEIVED, RequestStatus.EXPIRED),
        verified_at__isnull=True,
        email_confirmed_at__isnull=True,
        identity_check_needed=False,
        acknowledged_at__isnull=False,
        received_at__lt=now - timedelta(days=settings.RETENTION_UNVERIFIED_REQUEST_DAYS),
    )
    counts["unverified_requests"] = unverified.count() if dry_run else unverified.delete()[0]

    # A day's margin: an erasure stamped just before a backup may commit just after it.
    tombstones = ErasureTombstone.objects.filter(erased_at__lt=now - timedelta(days=settings.BACKUP_RETENTION_DAYS + 1))
    counts["erasure_tombstones"] = tombstones.count() if dry_run else tombstones.delete()[0]

    cutoff = now - relativedelta(years=settings.RETENTION_INACTIVE_CLIENT_YEARS)
    inactive = (
        Client.objects.filter(erased_at__isnull=True)
        .annotate(last_seen=Coalesce(Max("appointments__start"), "created_at"))
        .filter(last_seen__lt=cutoff)
        .exclude(Q(privacy_requests__legal_hold=True))
    )
    inactive_ids = list(inactive.values_list("pk", flat=True))
    counts["inactive_clients"] = len(inactive_ids)
    if inactive_ids and not dry_run:
        erase_clients(
            client_ids=inactive_ids,
            reason=f"Retention: no appointment for {settings.RETENTION_INACTIVE_CLIENT_YEARS} years.",
        )

    logger.info("Retention %s: %s", "dry run" if dry_run else "applied", counts)
    if not dry_run:
        audit(
            AuditAction.RETENTION_APPLIED,
            actor_label="system",
            detail=", ".join(f"{k}: {v}" for k, v in counts.items()),
        )
    return counts
