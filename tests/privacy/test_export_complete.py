"""The export holds everything the registry knows about the person.

Every model pointing at a client, and the hashed lists.
"""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.apps import apps

from clinic.models import Client
from privacy.export import build_bundle
from tests.support.privacy_requests import Person

pytestmark = pytest.mark.django_db
SCHEMA_DOC = Path(__file__).resolve().parents[2] / "docs" / "export-schema.md"

# Where each model that points at a client shows up in data.json. A new model pointing at Client
# fails the test below until its app exports it and it is added here.
CATEGORY_OF_MODEL = {
    "clinic.Client": "client",
    "appointments.Appointment": "appointments",
    "messaging.SmsMessage": "messages",
    "messaging.CampaignEmail": "marketing_emails",
    "privacy.ConsentRecord": "consent_history",
    "privacy.PolicyChangeNotice": "policy_notices",
    "privacy.DataSubjectRequest": "privacy_requests",
    "privacy.PrivacyAuditEvent": "privacy_audit_events",
    "payments.Payment": "payments",
    "payments.SavedCard": "saved_cards",
    "payments.StripeCustomer": "stripe_customers",
    "payments.CardSetup": "card_setups",
    "payments.BookingCheckout": "online_booking_checkouts",
    "waitlist.WaitlistEntry": "waitlist_entries",
    "accounts.SignInChallenge": "account_sign_in_requests",
    "accounts.AccountSession": "account_sessions",
    "clinical_forms.FormSubmission": "clinical_forms",
    "clinical_forms.GoodFaithExam": "good_faith_exams",
    "clinical_forms.CheckInOverride": "check_in_overrides",
    "clinical_forms.HealthChangeReport": "health_change_reports",
}


def models_pointing_at_client():
    found = {"clinic.Client"}
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.get_fields():
            if field.is_relation and not field.auto_created and field.related_model is Client:
                found.add(model._meta.label)
    return found


def rows_about(model, client):
    """How many rows of this model are about the client (its own FK or many-to-many to Client)."""
    if model is Client:
        return 1
    field = next(
        f for f in model._meta.get_fields() if f.is_relation and not f.auto_created and f.related_model is Client
    )
    return model._base_manager.filter(**{field.name: client}).distinct().count()


def data_json(client_ids):
    bundle = zipfile.ZipFile(io.BytesIO(build_bundle(client_ids=client_ids)))
    return json.loads(bundle.read("data.json")), bundle


@pytest.mark.policy("rights-access-portability")
def test_every_model_pointing_at_a_client_and_the_hashed_lists_appear_in_data_json(person_everywhere):
    dana, erasure, visitor_id = person_everywhere
    assert models_pointing_at_client() == set(CATEGORY_OF_MODEL), (
        "a model points at Client but is not in the export map"
    )
    data, bundle = data_json([dana.pk])
    categories = data["categories"]
    for label, category in CATEGORY_OF_MODEL.items():
        expected = rows_about(apps.get_model(label), dana)
        assert expected >= 1, f"the fixture has no {label} row: the check would prove nothing"
        assert len(categories.get(category, [])) >= expected, (
            f"{label}: {expected} rows, export has {categories.get(category)}"
        )
        assert f"{category}.csv" in bundle.namelist()
    # Marketing emails sent, with their campaign; policy notices; the audit trail of her requests.
    assert {e["campaign"] for e in categories["marketing_emails"]} == {"Winter offers"}
    assert [n["policy_version"] for n in categories["policy_notices"]] == ["2027-01"]
    assert erasure.reference in {e["request_reference"] for e in categories["privacy_audit_events"]}
    # The opt-out lists are keyed by hash, not by client: matched by her phone and email.
    assert {(o["channel"], o["contact"]) for o in categories["opt_outs"]} == {
        ("sms", Person.phone),
        ("email", Person.email),
    }
    # Cookie choices made in her browser before she booked (keyed by the visitor id the booking recorded).
    cookie_rows = [r for r in categories["consent_history"] if r["purpose"].startswith("cookies_")]
    assert len(cookie_rows) == 3 and {r["visitor_id"] for r in cookie_rows} == {visitor_id}


def test_export_of_another_person_holds_nothing_of_her(person_everywhere):
    stranger = Client.objects.create(
        first_name="Sam", last_name="Other", email="sam@example.com", mobile_phone="+14085550100"
    )
    data, _ = data_json([stranger.pk])
    text = json.dumps(data).lower()
    assert [n for n in Person.needles() if n.lower() in text] == []


def test_every_exported_category_and_field_is_documented(person_everywhere):
    dana, _, _ = person_everywhere
    data, _ = data_json([dana.pk])
    documented = {}
    for line in SCHEMA_DOC.read_text().splitlines():
        if match := re.match(r"^\| `(\w+)` \| \w+ \| (.+) \|$", line):
            documented[match.group(1)] = match.group(2)
    for category, rows in data["categories"].items():
        assert category in documented, f"{category} is not in docs/export-schema.md"
        for field in {k for row in rows for k in row}:
            assert re.search(rf"\b{field}\b", documented[category]), f"{category}.{field} is not documented"


@pytest.mark.policy("rights-access-portability")
def test_the_export_holds_the_history_of_the_persons_opt_outs_even_after_one_was_lifted():
    """A STOP later undone by START leaves no opt-out entry, but the record of both (when, why, how) is about
    the person: the export shows it, matched by her number and address."""
    from messaging.models import OptOutSource
    from messaging.opt_outs import add_sms_opt_out, lift_sms_opt_out
    from privacy.models import ConsentActor

    dana = Client.objects.create(
        first_name="Dana", last_name=Person.last_name, email=Person.email, mobile_phone=Person.phone
    )
    stranger = Client.objects.create(
        first_name="Sam", last_name="Other", email="sam@example.com", mobile_phone="+14085550100"
    )
    add_sms_opt_out(
        phone=Person.phone,
        reason="Texted STOP",
        source=OptOutSource.SMS_KEYWORD,
        actor=ConsentActor.CLIENT,
        evidence="SM" + "b" * 32,
    )
    lift_sms_opt_out(
        phone=Person.phone,
        reason="Texted START",
        source=OptOutSource.SMS_KEYWORD,
        actor=ConsentActor.CLIENT,
        evidence="SM" + "c" * 32,
    )
    add_sms_opt_out(
        phone=str(stranger.mobile_phone),
        reason="Texted STOP",
        source=OptOutSource.SMS_KEYWORD,
        actor=ConsentActor.CLIENT,
        evidence="SM" + "d" * 32,
    )
    data, bundle = data_json([dana.pk])
    history = data["categories"].get("opt_out_history", [])
    assert [(h["channel"], h["contact"], h["action"]) for h in history] == [
        ("sms", Person.phone, "add"),
        ("sms", Person.phone, "lift"),
    ]
    assert "opt_out_history.csv" in bundle.namelist()
