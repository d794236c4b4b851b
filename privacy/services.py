"""Writes to the consent ledger."""

from django.db import transaction

from .models import ConsentActor, ConsentRecord


@transaction.atomic
def record_consent(
    *,
    client=None,
    visitor_id="",
    purpose,
    granted,
    notice_text,
    source,
    actor=ConsentActor.CLIENT,
    staff_user=None,
    ip_address=None,
    user_agent="",
    evidence="",
    policy_version=None,
):
    return ConsentRecord.objects.create(
        client=client,
        visitor_id=visitor_id,
        purpose=purpose,
        granted=granted,
        notice_text=notice_text,
        source=source,
        actor=actor,
        staff_user=staff_user,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:1000],
        evidence=evidence,
        policy_version=policy_version,
    )
