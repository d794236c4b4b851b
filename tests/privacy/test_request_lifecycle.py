"""A privacy request's lifecycle: staff actions a rule refuses show the rule's message on the form, never a 500."""

import pytest
from django.core import mail
from django.urls import reverse

from privacy.requests_models import AuditAction, PrivacyAuditEvent, RequestType
from privacy.subject_requests import submit_request

pytestmark = pytest.mark.django_db
EMAIL = "dana.reyes@example.com"


@pytest.fixture
def access_request():
    return submit_request(request_type=RequestType.ACCESS, email=EMAIL)


def test_extending_a_deadline_twice_in_the_admin_shows_the_rule_on_the_form(admin_client, access_request):
    url = reverse("admin:privacy_request_extend", args=[access_request.pk])
    first = admin_client.post(url, {"reason": "Records are on paper at the other location."})
    assert first.status_code == 302
    mail.outbox.clear()

    again = admin_client.post(url, {"reason": "Still looking."})

    assert again.status_code == 200
    assert "This request has already been extended once." in again.content.decode()
    assert not mail.outbox
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.REQUEST_EXTENDED).count() == 1
    access_request.refresh_from_db()
    assert access_request.extension_reason == "Records are on paper at the other location."
