"""Plain-text emails are read as written: no HTML escaping in them (clinic/plain_text.py)."""

import re
from datetime import time
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core import mail

from tests.support.booking import MONDAY_10, SUNDAY_EVENING, booking_form, details_url
from tests.support.builders import bookable_clinic

pytestmark = pytest.mark.django_db


def test_a_name_and_a_service_with_quotes_and_ampersands_arrive_as_typed_in_the_text_email(
    client, django_capture_on_commit_callbacks
):
    location, service, _ = bookable_clinic(hours=((time(9), time(17)),))
    service.name = "Peel & Glow <Express>"
    service.save()
    with time_machine.travel(SUNDAY_EVENING, tick=False), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            details_url(location, service), booking_form(MONDAY_10, first_name="D'Arcy", last_name="O'Brien")
        )
    assert response.status_code == 302
    (email,) = mail.outbox
    assert "D'Arcy" in email.body and "Peel & Glow <Express>" in email.body
    assert "&amp;" not in email.body and "&#x27;" not in email.body and "&lt;" not in email.body
    # The HTML part is still escaped: it is read by a browser.
    (html_part, mimetype) = email.alternatives[0]
    assert mimetype == "text/html" and "Peel &amp; Glow &lt;Express&gt;" in html_part


def test_no_text_email_template_is_rendered_through_the_escaping_engine():
    """A `.txt` template rendered with plain render_to_string would be HTML-escaped again."""
    offenders = []
    for path in Path(settings.BASE_DIR).glob("*/*.py"):
        if path.parts[-2] in {"tests", "bench", "scripts", "mutants", ".venv"}:
            continue
        source = path.read_text()
        for match in re.finditer(r"render_to_string\(\s*(\"[^\"]+\"|\w+)", source):
            if match.group(1).endswith('.txt"') or match.group(1) == "template":
                offenders.append(f"{path.name}: {match.group(0)}")
    assert offenders == []
