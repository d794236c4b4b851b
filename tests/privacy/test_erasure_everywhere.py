"""Erasure leaves no personal data anywhere: every column of every table, sessions, the cache, the logs."""

import io
import logging
import pickle

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import models
from django_redis import get_redis_connection

from clinic.cache import ProcessObjectCache
from clinic.hashing import contact_hash
from clinic.logmask import MaskedFormatter, MaskPersonalData
from messaging.models import EmailOptOut, SmsOptOut
from privacy import registry
from privacy.models import ConsentRecord
from privacy.requests_models import DataSubjectRequest, RequestStatus
from privacy.tasks import daily_privacy_housekeeping
from tests.support.privacy_requests import Person

pytestmark = pytest.mark.django_db
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField, models.EmailField)


def _text_fields(model):
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, TEXT_FIELDS) or f.get_internal_type() in ("CharField", "TextField")
    ]


def database_holding(*needles):
    """(model, field, needle) for every text, char, JSON and IP column of every table holding a needle, raw values."""
    hits = set()
    for model in apps.get_models(include_auto_created=True):
        fields = _text_fields(model)
        if not fields:
            continue
        # Raw values: no model code in the way (custom managers, querysets that refuse reads).
        for row in model._base_manager.values_list(*[f.attname for f in fields]):
            for field, value in zip(fields, row, strict=True):
                text = "" if value is None else str(value).lower()
                hits |= {(model._meta.label, field.name, n) for n in needles if n.lower() in text}
    for session in Session.objects.all():
        decoded = str(session.get_decoded()).lower()
        hits |= {("sessions.Session", "session_data (decoded)", n) for n in needles if n.lower() in decoded}
    return sorted(hits)


def cache_holding(*needles):
    """(cache alias, key, needle) for every cached entry whose key or value holds a needle."""
    hits = set()
    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, LocMemCache):  # {key: pickle}
            items = list(cache._cache.items())
        elif isinstance(cache, ProcessObjectCache):  # {key: (the object itself, seconds to live)}
            items = [(key, entry[0]) for key, entry in list(cache._entries.items())]
        else:  # Redis: every key of its database
            client = get_redis_connection(alias)
            items = [(key, _redis_value(client, key)) for key in client.scan_iter()]
        for key, value in items:
            key = key.decode() if isinstance(key, bytes) else key
            if isinstance(value, bytes):
                try:
                    value = pickle.loads(value)
                except Exception:  # noqa: BLE001 - not a pickle: search the raw bytes as text
                    value = value.decode("latin-1")
            text = f"{key} {value!r}".lower()
            hits |= {(alias, str(key), n) for n in needles if n.lower() in text}
    return sorted(hits)


def _redis_value(client, key):
    """Any kind of Redis value, as text or bytes: the cache's pickles, the rate limiters' counters, queues."""
    kind = client.type(key).decode()
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return repr(client.hgetall(key))
    if kind == "list":
        return repr(client.lrange(key, 0, -1))
    if kind == "set":
        return repr(client.smembers(key))
    if kind == "zset":
        return repr(client.zrange(key, 0, -1))
    return ""


def test_the_fixture_really_puts_the_person_in_every_table_that_holds_people(person_everywhere):
    """Guard for the scan below: before the erasure, each kind of record names her."""
    dana, erasure, visitor_id = person_everywhere
    tables = {model for model, _, _ in database_holding(*Person.needles())}
    assert {
        "clinic.Client",
        "appointments.Appointment",
        "messaging.SmsMessage",
        "messaging.CampaignEmail",
        "messaging.SmsOptOut",
        "messaging.EmailOptOut",
        "privacy.ConsentRecord",
        "privacy.DataSubjectRequest",
        "privacy.PrivacyAuditEvent",
    } <= tables, tables
    assert ConsentRecord.objects.filter(visitor_id=visitor_id, client=None).count() == 3  # the cookie choices
    assert ConsentRecord.objects.filter(visitor_id=visitor_id, client=dana).exists()  # the booking links them
    assert dana.policy_notices.exists() and dana.campaign_emails.exists()
    from django.contrib.admin.models import LogEntry

    assert LogEntry.objects.filter(object_repr__icontains=Person.last_name).exists()
    # The cache scan finds what is there.
    caches["default"].set("probe", {"to": Person.email})
    assert cache_holding(Person.email) == [("default", ":1:probe", Person.email)]


@pytest.mark.policy("rights-erasure", "erasure-everywhere")
def test_erasure_leaves_nothing_of_the_person_in_any_table_session_or_cache(person_everywhere):
    dana, erasure, visitor_id = person_everywhere
    daily_privacy_housekeeping.apply()  # as beat runs it

    assert DataSubjectRequest.objects.get(pk=erasure.pk).status == RequestStatus.COMPLETED
    assert database_holding(*Person.needles(), visitor_id) == []
    assert cache_holding(*Person.needles(), visitor_id) == []
    # What is kept: the hashed opt-outs, so she is never texted or marketed to again.
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(Person.phone)).exists()
    assert EmailOptOut.objects.filter(email_hash=contact_hash(Person.email)).exists()


@pytest.mark.policy("erasure-everywhere")
@pytest.mark.parametrize("app_label", ["clinic", "appointments", "messaging", "privacy"])
def test_every_apps_eraser_is_needed(person_everywhere, app_label, monkeypatch):
    """The scan is strong enough: without any one app's eraser, something of the person is found."""
    dana, erasure, visitor_id = person_everywhere
    source = registry._sources[app_label]
    monkeypatch.setitem(
        registry._sources, app_label, registry.PersonalDataSource(app_label, source.exporter, None, source.erase_order)
    )
    daily_privacy_housekeeping.apply()
    found = {model.split(".")[0] for model, _, _ in database_holding(*Person.needles(), visitor_id)}
    assert app_label in found or (app_label == "clinic" and "admin" in found)


@pytest.mark.policy("erasure-everywhere")
def test_erasure_paths_log_no_personal_data(person_everywhere):
    """Logs we write go through the masking filter and formatter; the erasure path names nobody in them."""
    dana, erasure, visitor_id = person_everywhere
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(MaskedFormatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        daily_privacy_housekeeping.apply()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    logged = stream.getvalue().lower()
    assert "retention" in logged  # the path did log
    assert [n for n in Person.needles() if n.lower() in logged] == []


@pytest.mark.policy("erasure-everywhere")
def test_task_results_are_not_stored_anywhere():
    """The Celery result backend is off: a task's return value (counts, never people) is not kept."""
    from celery.backends.base import DisabledBackend

    from clinic.celery import app

    assert settings.CELERY_RESULT_BACKEND is None
    assert isinstance(app.backend, DisabledBackend)


@pytest.mark.policy("erasure-14-days")
def test_the_requester_is_told_when_the_erasure_is_done(person_everywhere, django_capture_on_commit_callbacks):
    dana, erasure, visitor_id = person_everywhere
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves once the erasure is committed
        daily_privacy_housekeeping.apply()
    told = [m for m in mail.outbox if erasure.reference in m.subject]
    assert len(told) == 1 and told[0].to == [Person.email] and "deleted" in told[0].body


@pytest.mark.policy("erasure-everywhere")
def test_a_reason_given_for_an_erasure_does_not_keep_the_name_in_the_audit_trail():
    from privacy.erasure import erase_clients
    from privacy.requests_models import PrivacyAuditEvent
    from tests.support.builders import ClientFactory

    person = ClientFactory(first_name="Dana", last_name=Person.last_name, email=Person.email, mobile_phone=Person.phone)
    erase_clients(
        client_ids=[person.pk], reason=f"{Person.first_name} {Person.last_name} asked by phone ({Person.national})"
    )
    event = PrivacyAuditEvent.objects.get(client_id=person.pk)
    assert "asked by phone" in event.detail
    assert database_holding(*Person.needles()) == []


@pytest.mark.policy("erasure-everywhere")
def test_erasure_removes_the_address_and_browser_recorded_when_the_person_downloaded_their_export():
    """The download's audit row names where it was fetched from (IP, browser): personal data, gone with the person."""
    from django.utils import timezone

    from privacy.erasure import erase_clients
    from privacy.requests_models import AuditAction, PrivacyAuditEvent
    from privacy.subject_requests import download_token, send_export_link, use_download_link
    from tests.support.builders import ClientFactory

    person = ClientFactory(first_name="Dana", last_name=Person.last_name, email=Person.email, mobile_phone=Person.phone)
    now = timezone.now()
    access = DataSubjectRequest.objects.create(
        request_type="access",
        email=Person.email,
        regime="gdpr",
        received_at=now,
        due_at=now,
        status=RequestStatus.VERIFIED,
        verified_at=now,
    )
    access.clients.add(person)
    send_export_link(request_id=access.pk)
    access.refresh_from_db()
    use_download_link(
        token=download_token(access),
        proof="verified in this browser",
        ip_address=Person.ip,
        user_agent=Person.user_agent,
    )
    assert database_holding(Person.ip, "QuillBrowser")  # the audit row holds them until the erasure
    erase_clients(client_ids=[person.pk])
    assert database_holding(*Person.needles()) == []
    # The record of the download stays: what, when and how it was proven.
    kept = PrivacyAuditEvent.objects.get(request=access, action=AuditAction.DATA_EXPORTED)
    assert "verified in this browser" in kept.detail


@pytest.mark.policy("erasure-everywhere")
def test_erasure_after_a_merge_leaves_nothing_of_the_merged_records_other_name_email_or_phone():
    """A merge's reason (free text in the audit trail) may name the duplicate's details, which the kept record
    does not hold: erasing the kept record must still leave none of them anywhere."""
    from clinic.identity import merge_clients
    from privacy.erasure import erase_clients
    from tests.support.builders import ClientFactory

    keep = ClientFactory(first_name="Dana", last_name=Person.last_name, email=Person.email, mobile_phone=Person.phone)
    duplicate = ClientFactory(
        first_name="Dana", last_name="Oldsurname", email="dana.old@example.net", mobile_phone="+14085550777"
    )
    merge_clients(
        keep_id=keep.pk,
        duplicate_id=duplicate.pk,
        staff_user=None,
        actor_label="test",
        reason=(
            "Dana Oldsurname (dana.old@example.net, 408-555-0777 / +14085550777) is Dana Quillfeather after marriage"
        ),
    )
    erase_clients(client_ids=[keep.pk])
    assert database_holding(*Person.needles(), "Oldsurname", "dana.old@example.net", "+14085550777", "4085550777") == []


@pytest.mark.policy("erasure-everywhere")
def test_erasure_clears_the_admin_history_of_the_persons_appointments_even_under_a_name_since_corrected():
    """The admin's history names an appointment by str() ("<client name> - <service> at ..."), frozen at the time:
    after the person's name was corrected, her old name is there and no trace of her current record finds it."""
    from datetime import timedelta

    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from appointments.models import Appointment
    from privacy.erasure import erase_clients
    from privacy.rectification import correct_client
    from tests.support.builders import AppointmentFactory, ClientFactory, StaffFactory, bookable_clinic

    location, service, (practitioner,) = bookable_clinic()
    person = ClientFactory(first_name="Dana", last_name="Oldsurname", email=Person.email, mobile_phone=Person.phone)
    visit = AppointmentFactory(
        client=person,
        location=location,
        service=service,
        practitioner=practitioner,
        start=timezone.now() + timedelta(days=2),
    )
    LogEntry.objects.create(
        user=StaffFactory(),
        content_type=ContentType.objects.get_for_model(Appointment),
        object_id=str(visit.pk),
        object_repr=str(visit)[:200],
        action_flag=CHANGE,
        change_message='[{"changed": {"fields": ["Notes"]}}]',
    )
    correct_client(client_id=person.pk, changes={"last_name": Person.last_name})
    erase_clients(client_ids=[person.pk])
    assert database_holding(*Person.needles(), "Oldsurname") == []


@pytest.mark.policy("erasure-everywhere")
def test_erasure_leaves_no_number_or_address_the_person_had_before_a_correction():
    """Texts and opt-outs keep the number they were for; after a correction the record holds the new one only,
    and the erasure must still find the old number (in the person's own texts and the opt-out entries)."""
    from django.utils import timezone

    from messaging.models import Direction, MessageKind, MessageStatus, OptOutSource, SmsMessage
    from messaging.opt_outs import add_email_opt_out, add_sms_opt_out
    from privacy.erasure import erase_clients
    from privacy.models import ConsentActor
    from privacy.rectification import correct_client
    from tests.support.builders import ClientFactory

    old_phone, old_email = "+14085550733", "dana.maiden@example.org"
    person = ClientFactory(first_name="Dana", last_name=Person.last_name, email=old_email, mobile_phone=old_phone)
    SmsMessage.objects.create(
        to_number=old_phone, client=person, kind=MessageKind.REMINDER, body="See you", status=MessageStatus.SENT
    )
    SmsMessage.objects.create(
        direction=Direction.INBOUND,
        from_number=old_phone,
        to_number="+14088211633",
        client=person,
        body="STOP",
        status=MessageStatus.RECEIVED,
        keyword="stop",
    )
    add_sms_opt_out(
        phone=old_phone,
        reason="Texted STOP",
        source=OptOutSource.SMS_KEYWORD,
        actor=ConsentActor.CLIENT,
        evidence="SM" + "e" * 32,
    )
    # A marketing email to the old address, whose unsubscribe link put it on the list.
    from messaging.models import Campaign, CampaignEmail

    campaign = Campaign.objects.create(
        name="Spring", channel="email", subject="Spring", body="Offers", send_at=timezone.now()
    )
    CampaignEmail.objects.create(campaign=campaign, client=person, to_email=old_email, status=MessageStatus.SENT)
    add_email_opt_out(email=old_email, reason="Unsubscribed", source=OptOutSource.EMAIL_LINK, actor=ConsentActor.CLIENT)
    correct_client(client_id=person.pk, changes={"mobile_phone": Person.phone, "email": Person.email})
    erase_clients(client_ids=[person.pk])
    found = database_holding(*Person.needles(), old_phone, "4085550733", old_email)
    assert found == [], found
    # The old number and address stay stopped (by their hash).
    assert SmsOptOut.objects.filter(phone_hash=contact_hash(old_phone)).exists()
    assert EmailOptOut.objects.filter(email_hash=contact_hash(old_email)).exists()
