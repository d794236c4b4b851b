"""`manage.py seed_demo`: the clinic's two real locations and menu, safe to run twice."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    PractitionerService,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceRequirement,
    WorkingHours,
)
from clinic.models import Client, Location
from messaging.opt_outs import is_sms_opted_out

pytestmark = pytest.mark.django_db


def counts():
    return (
        Location.objects.count(),
        Service.objects.count(),
        Practitioner.objects.count(),
        WorkingHours.objects.count(),
        PractitionerService.objects.count(),
        ResourceType.objects.count(),
        ResourceUnit.objects.count(),
        ServiceRequirement.objects.count(),
    )


@pytest.mark.policy("contact")
def test_seed_creates_both_policy_locations_and_is_idempotent(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    first = counts()
    call_command("seed_demo")
    assert counts() == first
    milpitas, glendale = Location.objects.get(slug="milpitas"), Location.objects.get(slug="glendale")
    assert "980 Larkin Rd" in milpitas.address and str(milpitas.phone) == "+14088211633"
    assert "1305 S Central Ave #B00" in glendale.address and str(glendale.phone) == "+17472211816"
    assert {milpitas.timezone, glendale.timezone} == {"America/Los_Angeles"}
    names = set(Service.objects.values_list("name", flat=True))
    for expected in [
        "Consultation",
        "Dermal filler",
        "HydraFacial",
        "Chemical peel",
        "Laser hair removal",
        "Microneedling",
    ]:
        assert expected in names
    assert any("Neurotoxin" in name for name in names)


def test_seed_gives_both_locations_rooms_and_devices_and_the_laser_and_hydrafacial_their_needs(settings):
    settings.DEBUG = False
    call_command("seed_demo")
    call_command("seed_demo")
    for location in Location.objects.all():
        kinds = sorted(location.resource_units.values_list("resource_type__name", flat=True))
        assert kinds == ["GentleMax laser", "HydraFacial machine", "Treatment room", "Treatment room"]
    needs = lambda slug: set(  # noqa: E731
        ServiceRequirement.objects.filter(service__slug=slug).values_list("resource_type__name", flat=True)
    )
    assert needs("laser-hair-removal") == {"Treatment room", "GentleMax laser"}
    assert needs("hydrafacial") == {"HydraFacial machine"}
    senior = PractitionerService.objects.get(practitioner__name="Dr. Priya Raman", service__slug="neurotoxin")
    assert senior.duration_minutes == 20


def test_admin_login_only_when_debug(settings, capsys):
    settings.DEBUG = False
    call_command("seed_demo")
    assert "password" not in capsys.readouterr().out and not User.objects.exists()
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = out.split("user admin  password ")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)


def week_counts():
    from messaging.models import Campaign, SmsMessage, SmsOptOut
    from privacy.models import ConsentRecord, DataSubjectRequest

    return {
        model.__name__: model.objects.count()
        for model in (Client, Appointment, SmsMessage, SmsOptOut, DataSubjectRequest, Campaign, ConsentRecord)
    }


def test_seed_adds_a_realistic_week_and_a_second_run_the_same_day_adds_nothing(settings):
    from messaging.models import Campaign, CampaignStatus, Direction, SmsMessage
    from privacy.models import DataSubjectRequest

    settings.DEBUG = False
    call_command("seed_demo")
    first = week_counts()
    call_command("seed_demo")
    assert week_counts() == first
    # Obviously fictional people.
    assert all(c.email.endswith("@example.com") and "Demo" in c.last_name for c in Client.objects.all())
    assert all(str(c.mobile_phone).startswith("+1408555") for c in Client.objects.all())
    # Every state, and today busy at both locations.
    assert set(Appointment.objects.values_list("status", flat=True)) == set(AppointmentStatus.values)
    today = timezone.localdate(timezone.now(), ZoneInfo("America/Los_Angeles"))
    todays = [a for a in Appointment.objects.all() if a.local_start.date() == today]
    assert {a.location.slug for a in todays} == {"milpitas", "glendale"}
    # A visit of two services (consultation, then HydraFacial) for the day calendar and the manage page.
    (visit,) = {a.visit for a in Appointment.objects.filter(visit__isnull=False)}
    assert [a.service.slug for a in visit.appointments.order_by("start")] == ["consultation", "hydrafacial"]
    # The inbox: a C that confirmed a visit, a question waiting unread, a STOP that opted the number out.
    inbound = {m.body: m for m in SmsMessage.objects.filter(direction=Direction.INBOUND)}
    assert inbound["C"].appointment.status == AppointmentStatus.CONFIRMED
    question = next(m for body, m in inbound.items() if "?" in body)
    assert question.read_at is None and question.client is not None
    assert is_sms_opted_out(inbound["STOP"].from_number)
    # A privacy request due soon, and a campaign draft.
    request = DataSubjectRequest.objects.get()
    assert timezone.now() < request.deadline <= timezone.now() + timedelta(days=settings.PRIVACY_DUE_SOON_DAYS)
    assert Campaign.objects.get().status == CampaignStatus.DRAFT


def test_links_printed_follow_site_url(settings, capsys):
    settings.DEBUG, settings.SITE_URL = True, "http://127.0.0.1:8123"
    call_command("seed_demo", "--no-week")
    out = capsys.readouterr().out
    assert "Booking site: http://127.0.0.1:8123/" in out and "http://127.0.0.1:8123/admin/" in out


def test_seed_adds_two_waitlist_entries_and_offers_a_held_time_to_the_first_once(settings):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from waitlist.models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer

    settings.DEBUG = False
    with time_machine.travel(datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles")), tick=False):
        call_command("seed_demo")
        call_command("seed_demo")
    entries = list(WaitlistEntry.objects.order_by("created_at", "pk"))
    assert [e.client.first_name for e in entries] == ["Maria", "Tom"]
    assert all(e.status == EntryStatus.WAITING and e.service.slug == "hydrafacial" for e in entries)
    offer = WaitlistOffer.objects.get()
    assert offer.entry == entries[0] and offer.status == OfferStatus.PENDING and offer.hold is not None


def test_no_week_seeds_the_clinic_each_app_registers_but_no_people(settings, capsys):
    from clinical_forms.models import FormTemplate
    from privacy.models import PolicyVersion
    from waitlist.models import WaitlistEntry

    settings.DEBUG = False
    call_command("seed_demo", "--no-week")
    out = capsys.readouterr().out
    # The clinic's steps, from three apps, in order; none of the week's.
    assert out.index("Demo clinic ready") < out.index("Privacy policy") < out.index("Clinical forms ready")
    assert Location.objects.count() == 2 and PolicyVersion.objects.exists() and FormTemplate.objects.exists()
    assert not Client.objects.exists() and not Appointment.objects.exists() and not WaitlistEntry.objects.exists()
    assert "Demo week" not in out and "Local admin login" not in out
