"""Two signs of one form at the same moment (two tabs, a double tap) leave exactly one signed form (PostgreSQL)."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from clinical_forms import services
from clinical_forms.models import FormSubmission, SubmissionStatus
from clinical_forms.selectors import current_version
from tests.support.builders import AppointmentFactory, bookable_clinic
from tests.support.clinical_forms import form_template
from tests.support.environment import requires_postgres

LA = ZoneInfo("America/Los_Angeles")
RACERS = 4


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_signing_one_form_twice_at_once_signs_it_once():
    location, service, (practitioner,) = bookable_clinic(hours=((time(0), time(23, 59)),))
    template = form_template(services_=[service])
    start = datetime.now(LA).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=3)
    appointment = AppointmentFactory(location=location, service=service, practitioner=practitioner, start=start)
    data = {
        "version_id": str(current_version(template).pk),
        "date_of_birth": "1990-04-12",
        "allergies": "no",
        "skin": "Dry",
        "signer_name": "Dana Reyes",
    }
    barrier = threading.Barrier(RACERS)
    outcomes = []

    def sign():
        try:
            barrier.wait()
            services.save_visit_form(appointment=appointment, template=template, data=data, sign=True)
            outcomes.append("signed")
        except services.AlreadySigned:
            outcomes.append("already signed")
        finally:
            connection.close()

    threads = [threading.Thread(target=sign) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["already signed"] * (RACERS - 1) + ["signed"]
    assert FormSubmission.objects.filter(client=appointment.client, status=SubmissionStatus.SIGNED).count() == 1


def _wait_until_someone_waits_for_a_lock(seconds=10.0):
    """True once another connection of this database waits for a row lock (a deterministic hand-over)."""
    import time

    from django.db import connections

    deadline = time.monotonic() + seconds
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_form_signed_while_a_new_version_is_published_is_shown_again_in_the_new_version_not_saved():
    """Bad input: "a form whose template changed while the client was filling it is re-shown with the new version,
    not saved against the wrong one", also when the new version is published during the signature itself."""
    from django.db import transaction

    from clinical_forms.models import FormField

    location, service, (practitioner,) = bookable_clinic(hours=((time(0), time(23, 59)),))
    template = form_template(services_=[service])
    first = current_version(template)
    second = services.start_new_version(template_id=template.pk)
    FormField.objects.filter(version=second, key="skin").update(label="Skin type (new wording)")
    start = datetime.now(LA).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=3)
    appointment = AppointmentFactory(location=location, service=service, practitioner=practitioner, start=start)
    data = {  # what the client's page, opened on version 1, posts
        "version_id": str(first.pk),
        "date_of_birth": "1990-04-12",
        "allergies": "no",
        "skin": "Dry",
        "signer_name": "Dana Reyes",
    }
    published, release = threading.Event(), threading.Event()
    outcome = {}

    def publish():
        try:
            with transaction.atomic():
                services.publish_version(version_id=second.pk)
                published.set()
                release.wait(10)  # not committed yet: the signature starts and must wait for this
        finally:
            connection.close()

    def sign():
        try:
            published.wait(10)
            services.save_visit_form(appointment=appointment, template=template, data=data, sign=True)
            outcome["result"] = "signed"
        except services.VersionChanged as changed:
            outcome["result"] = "version changed"
            outcome["shown"] = changed.version.pk
        finally:
            connection.close()

    threads = [threading.Thread(target=publish), threading.Thread(target=sign)]
    for t in threads:
        t.start()
    published.wait(10)
    signer_waited = _wait_until_someone_waits_for_a_lock()
    release.set()
    for t in threads:
        t.join(timeout=60)

    assert signer_waited, "the signature did not wait for the publication under way"
    assert outcome == {"result": "version changed", "shown": second.pk}
    assert not FormSubmission.objects.filter(client=appointment.client).exists()  # nothing against version 1
