"""A correction's audit row says who made it and for which privacy request (never the values).

Pins the survivors of `make mutation MUTANTS='privacy.rectification*'` (docs/mutation.md).
"""

import pytest

from privacy.rectification import correct_client
from privacy.requests_models import AuditAction, PrivacyAuditEvent, RequestType
from privacy.subject_requests import submit_request
from tests.support.builders import ClientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.policy("rights-correction")]


def corrected_event(person):
    return PrivacyAuditEvent.objects.get(action=AuditAction.DATA_CORRECTED, client=person)


def test_a_staff_correction_is_audited_as_that_staff_member_for_the_request_it_answers(admin_user):
    person = ClientFactory(first_name="Jo", email="jo@example.com")
    dsr = submit_request(request_type=RequestType.RECTIFICATION, email="jo@example.com")

    correct_client(client_id=person.pk, changes={"first_name": "Joanna"}, staff_user=admin_user, request=dsr)
    event = corrected_event(person)
    assert (event.actor_id, event.actor_label, event.request_id, event.detail) == (
        admin_user.pk,
        "",
        dsr.pk,
        "first_name",
    )


def test_a_correction_without_a_staff_member_is_audited_as_the_system():
    person = ClientFactory(first_name="Jo")

    correct_client(client_id=person.pk, changes={"first_name": "Joanna"})
    event = corrected_event(person)
    assert (event.actor_id, event.actor_label, event.request_id) == (None, "system", None)
