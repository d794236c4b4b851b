"""Privacy policy versions: the current one shown, earlier ones readable, publishing emails clients once."""

from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command

from appointments.models import Appointment
from privacy.models import ConsentPurpose, ConsentRecord, PolicyChangeNotice, PolicyVersion, Subprocessor
from privacy.policy import publish_policy, queue_policy_notices
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db


def version(label, effective, published=True, body="## 1. What we collect\nYour name.\n\n- a point\n- another"):
    return PolicyVersion.objects.create(version=label, effective_date=effective, body=body, is_published=published)


@pytest.mark.policy("policy-updates")
def test_policy_page_shows_current_version_with_effective_date(client):
    version("2025-01", date(2025, 1, 1), body="## Old\nOld words.")
    version("2026-06", date(2026, 6, 1))
    version("draft", date(2026, 7, 1), published=False, body="## Secret draft")
    html = client.get("/privacy/").content.decode()
    assert "June 1, 2026" in html and "version 2026-06" in html
    assert '<h2 id="1-what-we-collect">1. What we collect</h2>' in html and "<li>a point</li>" in html
    assert "Secret draft" not in html and "Old words" not in html
    assert "/privacy/versions/2025-01/" in html


@pytest.mark.policy("policy-updates")
def test_earlier_versions_stay_readable_and_drafts_do_not_leak(client):
    version("2025-01", date(2025, 1, 1), body="## Old\nOld words.")
    version("2026-06", date(2026, 6, 1))
    version("draft", date(2026, 7, 1), published=False)
    html = client.get("/privacy/versions/2025-01/").content.decode()
    assert "Old words" in html and "This is an earlier version" in html
    assert client.get("/privacy/versions/draft/").status_code == 404


def test_policy_body_is_escaped(client):
    version("x", date(2026, 1, 1), body="<script>alert(1)</script>")
    assert "<script>alert" not in client.get("/privacy/").content.decode()


@pytest.mark.policy("share-service-providers")
def test_subprocessors_are_listed_on_the_policy_page(client):
    Subprocessor.objects.create(
        name="Twilio", purpose="Text messages", data_shared="Phone number", country="United States"
    )
    html = client.get("/privacy/").content.decode()
    assert "Twilio" in html and "Phone number" in html


@pytest.mark.policy("policy-updates")
def test_publishing_emails_every_client_with_an_address_once(django_capture_on_commit_callbacks):
    ClientFactory(email="a@example.com")
    ClientFactory(email="b@example.com")
    ClientFactory(email="B@example.com")  # a later booking's own record with the same address: still one email
    ClientFactory(email="")
    policy = version("2027-01", date(2027, 1, 1), published=False)
    policy.summary_of_changes = "We now list our subprocessors."
    policy.save()
    with django_capture_on_commit_callbacks(execute=True):
        publish_policy(policy_id=policy.pk)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    assert "We now list our subprocessors." in mail.outbox[0].body
    with django_capture_on_commit_callbacks(execute=True):
        queue_policy_notices(policy_id=policy.pk)  # the task running again
        publish_policy(policy_id=policy.pk)
    assert len(mail.outbox) == 2
    assert PolicyChangeNotice.objects.filter(sent_at__isnull=False).count() == 2


def test_published_version_cannot_be_edited_in_the_admin(admin_client):
    policy = version("2026-06", date(2026, 6, 1))
    response = admin_client.post(
        f"/admin/privacy/policyversion/{policy.pk}/change/",
        {"version": "hacked", "effective_date": "2026-06-01", "body": "x"},
    )
    policy.refresh_from_db()
    assert policy.version == "2026-06" and response.status_code == 403


@pytest.mark.policy("collect-consent-evidence")
def test_booking_records_which_policy_version_was_accepted(client):
    import time_machine

    from tests.support.booking import SUNDAY_EVENING, booking_form, details_url
    from tests.support.builders import bookable_clinic

    policy = version("2026-06", date(2026, 6, 1))
    location, service, _ = bookable_clinic()
    with time_machine.travel(SUNDAY_EVENING, tick=False):
        client.post(details_url(location, service), booking_form())
    assert Appointment.objects.count() == 1
    record = ConsentRecord.objects.get(purpose=ConsentPurpose.PRIVACY_POLICY)
    assert record.policy_version == policy


@pytest.mark.policy("contact", "share-service-providers")
def test_demo_policy_is_published_with_its_subprocessors(client, settings):
    settings.DEBUG = False
    call_command("seed_demo")
    html = client.get("/privacy/").content.decode()
    for phrase in [
        "Reply STOP",
        "18 or older",
        "Global Privacy Control",
        "14 days",
        "Google Analytics",
        "Meta Platforms",
        "Twilio",
        "980 Larkin Rd",
        "1305 S Central Ave",
    ]:
        assert phrase in html
