"""Erasure clears a consent row's evidence (IP, browser, evidence, visitor id); the choice and its wording stay.

Pins the survivors of `make mutation MUTANTS='privacy.models*'` in ConsentQuerySet.anonymise (docs/mutation.md).
"""

import pytest

from privacy.erasure import erase_clients
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.policy("rights-erasure")]


def test_erasure_blanks_every_piece_of_consent_evidence_and_keeps_the_choice():
    person = ClientFactory()
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="Offers by text, up to 4 a month.",
        source=ConsentSource.BOOKING_FORM,
        ip_address="198.51.100.23",
        user_agent="Mozilla/5.0 (iPhone)",
        evidence="SM0123456789abcdef",
        visitor_id="v1s1t0r1d000000000000001",
    )

    erase_clients(client_ids=[person.pk])
    row = ConsentRecord.objects.get(client=person)
    assert (row.ip_address, row.user_agent, row.evidence, row.visitor_id) == (None, "", "", "")
    assert (row.purpose, row.granted, row.notice_text) == (
        ConsentPurpose.SMS_MARKETING,
        True,
        "Offers by text, up to 4 a month.",
    )
