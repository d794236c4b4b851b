"""Writes to the consent ledger."""

from typing import TYPE_CHECKING

from django.db import transaction

from .models import ConsentActor, ConsentRecord, PolicyVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from clinic.models import Client


@transaction.atomic
def record_consent(
    *,
    client: "Client | None" = None,
    visitor_id: str = "",
    purpose: str,
    granted: bool,
    notice_text: str,
    source: str,
    actor: str = ConsentActor.CLIENT,
    staff_user: "User | None" = None,
    ip_address: str | None = None,
    user_agent: str = "",
    evidence: str = "",
    policy_version: PolicyVersion | None = None,
) -> ConsentRecord:
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
