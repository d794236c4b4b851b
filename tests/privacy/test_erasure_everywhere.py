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

from clinic.hashing import contact_hash
from clinic.logmask import MaskedFormatter, MaskPersonalData
from messaging.models import EmailOptOut, SmsOptOut
from privacy import registry
from privacy.models import ConsentRecord
from privacy.requests_models import DataSubjectRequest, RequestStatus
from privacy.tasks import daily_privacy_housekeeping
from tests.privacy.conftest import Person

pytestmark = pytest.mark.django_db
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField, models.EmailField)


def _text_fields(model):
    return [f for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS) or f.get_internal_type() in ("CharField", "TextField")]


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
        if isinstance(cache, LocMemCache):  # {key: pickle, or the object itself}
            items = list(cache._cache.items())
        else:  # Redis: every key of its database
            client = cache._cache.get_client()
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
        "clinic.Client", "appointments.Appointment", "messaging.SmsMessage", "messaging.CampaignEmail",
        "messaging.SmsOptOut", "messaging.EmailOptOut", "privacy.ConsentRecord", "privacy.DataSubjectRequest",
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
    monkeypatch.setitem(registry._sources, app_label, registry.PersonalDataSource(app_label, source.exporter, None, source.erase_order))
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
def test_the_requester_is_told_when_the_erasure_is_done(person_everywhere):
    dana, erasure, visitor_id = person_everywhere
    mail.outbox.clear()
    daily_privacy_housekeeping.apply()
    told = [m for m in mail.outbox if erasure.reference in m.subject]
    assert len(told) == 1 and told[0].to == [Person.email] and "deleted" in told[0].body


@pytest.mark.policy("erasure-everywhere")
def test_a_reason_given_for_an_erasure_does_not_keep_the_name_in_the_audit_trail():
    from privacy.erasure import erase_clients
    from privacy.requests_models import PrivacyAuditEvent
    from tests.factories import ClientFactory

    person = ClientFactory(first_name="Dana", last_name=Person.last_name, email=Person.email, mobile_phone=Person.phone)
    erase_clients(client_ids=[person.pk], reason=f"{Person.first_name} {Person.last_name} asked by phone ({Person.national})")
    event = PrivacyAuditEvent.objects.get(client_id=person.pk)
    assert "asked by phone" in event.detail
    assert database_holding(*Person.needles()) == []
