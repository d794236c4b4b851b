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
