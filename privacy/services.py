"""Writes to the consent ledger."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction

from clinic.languages import current_language

from .models import ConsentActor, ConsentRecord, PolicyVersion, notice_digest

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
    language: str | None = None,
) -> ConsentRecord:
    """Append one choice. language: the one notice_text is in (default: the active language, which
    rendered it)."""
    return ConsentRecord.objects.create(
        language=language or current_language(),
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


def record_form_consents(
    *,
    client: "Client",
    choices: Iterable[tuple[str, bool, str, PolicyVersion | None]],
    source: str,
    ip_address: str | None = None,
    user_agent: str = "",
    visitor_id: str = "",
    language: str | None = None,
) -> list[ConsentRecord]:
    """Record the choices one form gave at once, (purpose, granted, notice text, policy version) each, in order.

    The same rows as record_consent one by one (appended, never updated), in one insert: a booking
    records four choices, and four inserts each in its own savepoint cost the booking request more
    than its own appointment does.
    """
    shown_in = current_language()
    records = [
        ConsentRecord(
            client=client,
            visitor_id=visitor_id,
            purpose=purpose,
            granted=granted,
            notice_text=notice_text,
            notice_sha256=notice_digest(notice_text),
            language=language or shown_in,
            source=source,
            actor=ConsentActor.CLIENT,
            ip_address=ip_address or None,
            user_agent=(user_agent or "")[:1000],
            policy_version=policy_version,
        )
        for purpose, granted, notice_text, policy_version in choices
    ]
    return ConsentRecord.objects.bulk_create(records)
