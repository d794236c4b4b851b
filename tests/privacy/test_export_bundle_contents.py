"""The export bundle's files say the same thing: data.json's header, every CSV cell, the summary page.

These pin the survivors of `make mutation MUTANTS='privacy.export*'` (docs/mutation.md).
"""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings

from privacy.export import build_bundle
from privacy.models import ConsentPurpose, ConsentSource
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.policy("rights-access-portability")]
MADE_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def bundle():
    person = ClientFactory(first_name="Marisol", last_name="Okafor-Lind", email="marisol@example.com", notes="")
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="=Reminders by text",  # a cell a spreadsheet would run as a formula
        source=ConsentSource.BOOKING_FORM,
        ip_address=None,
    )
    with time_machine.travel(MADE_AT, tick=False):
        raw = build_bundle(client_ids=[person.pk], reference="PR-1A2B3C4D")
    return zipfile.ZipFile(io.BytesIO(raw))


def test_data_json_says_who_the_controller_is_when_it_was_made_and_for_which_request(bundle):
    data = json.loads(bundle.read("data.json"))
    assert data["controller"] == settings.CLINIC_NAME
    assert data["request_reference"] == "PR-1A2B3C4D"
    assert datetime.fromisoformat(data["generated_at"]) == MADE_AT


def test_every_csv_cell_holds_the_value_in_data_json_spreadsheet_safe_and_none_as_blank(bundle):
    categories = json.loads(bundle.read("data.json"))["categories"]
    for name, rows in categories.items():
        cells = list(csv.DictReader(io.StringIO(bundle.read(f"{name}.csv").decode())))
        assert len(cells) == len(rows), name
        for row, read in zip(rows, cells, strict=True):
            for field, value in row.items():
                if value is None:
                    expected = ""
                elif isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
                    expected = "'" + value
                elif isinstance(value, bool | int | float):
                    expected = str(value)
                else:
                    expected = value if isinstance(value, str) else str(value)
                if isinstance(value, (list, dict)):
                    continue  # written by csv as Python's repr; data.json is the machine-readable copy
                assert read[field] == expected, (name, field)
    consent = next(csv.DictReader(io.StringIO(bundle.read("consent_history.csv").decode())))
    assert "Okafor" not in consent["notice_text"] and consent["notice_text"] == "'=Reminders by text"
    client_row = next(csv.DictReader(io.StringIO(bundle.read("client.csv").decode())))
    assert client_row["last_name"] == "Okafor-Lind"
    # The language the person is written to in, and each consent notice's language, are theirs too.
    assert client_row["language"] == "en" and consent["language"] == "en"


def test_the_summary_page_names_the_clinic_the_date_and_the_request(bundle):
    summary = bundle.read("summary.html").decode()
    generated_at = json.loads(bundle.read("data.json"))["generated_at"]
    assert settings.CLINIC_NAME in summary
    assert "PR-1A2B3C4D" in summary
    assert f"Generated {generated_at} for request PR-1A2B3C4D." in summary
    assert "Okafor-Lind" in summary


def test_a_staff_export_made_without_a_request_names_no_request(tmp_path):
    """`manage.py export_subject_data` answers no privacy request: the copy must not claim one."""
    from django.core.management import call_command

    ClientFactory(email="marisol@example.com")
    out = tmp_path / "export.zip"
    call_command("export_subject_data", "--email", "marisol@example.com", "--out", str(out))
    bundle = zipfile.ZipFile(out)
    assert json.loads(bundle.read("data.json"))["request_reference"] == ""
    assert " for request " not in bundle.read("summary.html").decode()
