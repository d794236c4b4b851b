"""Staff tied to a location reach nothing of another location through any admin URL, form, filter or autocomplete.

The crawler below walks every URL of every registered ModelAdmin (changelist,
add, change, history, delete and each admin's own pages) for Glendale's
records, every autocomplete endpoint and the appointment add form, as
Milpitas staff of each role, and asserts no Glendale client's name, email,
phone, message body or consent evidence appears in any response.
"""

import re
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentStatus,
    LocationClosure,
    Practitioner,
    ResourceType,
    ResourceUnit,
    ServiceRequirement,
    TimeOff,
    WorkingHours,
)
from clinic.hashing import contact_hash
from clinic.models import Client, Location, StaffProfile
from clinic.roles import CLINIC_MANAGER, FRONT_DESK, PRACTITIONER, PRIVACY_OFFICER
from clinical_forms.models import CheckInOverride, ExamOutcome, FormSubmission, GoodFaithExam
from messaging.models import (
    Campaign,
    CampaignEmail,
    Direction,
    EmailOptOut,
    InboundMessage,
    MessageKind,
    MessageStatus,
    ReminderRule,
    SmsMessage,
    SmsOptOut,
)
from payments.models import CancellationPolicy, Payment, PaymentRequirement, Refund
from privacy.models import ConsentPurpose, ConsentSource
from privacy.requests_models import DataSubjectRequest, PrivacyAuditEvent, Regime
from privacy.services import record_consent
from tests.support.builders import (
    AppointmentFactory,
    ClientFactory,
    LocationFactory,
    StaffFactory,
    WorkingHoursFactory,
    bookable_clinic,
)
from tests.support.clinical_forms import form_template, submission
from waitlist.models import Opening, WaitlistEntry, WaitlistOffer

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")

# Everything that must never reach Milpitas staff.
GLENDALE_SECRETS = [
    "Glennabeth",
    "Hiddenmoor",
    "glenna.hiddenmoor@example.com",
    "+14085559876",
    "555-9876",
    "Reminder body only Glendale may read",
    "Inbound question only Glendale may read",
    "203.0.113.77",
    "GlennaBrowser/1.0",
    "198.51.100.99",
    "Dr Glendalia",
    "Glendale spring offer",
    "Every location offer",
]


def staff(role, *locations):
    # No locations given: a profile marked "All locations".
    user = StaffFactory(locations=list(locations) or None)
    user.groups.add(Group.objects.get(name=role))
    return user


def message(**fields):
    return SmsMessage.objects.create(**{"to_number": "+14088211633", "status": MessageStatus.SENT, **fields})


@pytest.fixture
def two_clinics():
    milpitas, m_service, (m_person,) = bookable_clinic()
    Location.objects.filter(pk=milpitas.pk).update(name="Milpitas")
    glendale, g_service, (g_person,) = bookable_clinic()
    Location.objects.filter(pk=glendale.pk).update(name="Glendale")
    milpitas.refresh_from_db()
    glendale.refresh_from_db()
    Practitioner.objects.filter(pk=g_person.pk).update(name="Dr Glendalia")
    g_person.refresh_from_db()
    start = timezone.now() + timedelta(days=3)

    milo = ClientFactory(first_name="Milo", last_name="Visiblesen", preferred_location=milpitas)
    mine = AppointmentFactory(client=milo, location=milpitas, service=m_service, practitioner=m_person, start=start)
    message(
        client=milo,
        location=milpitas,
        appointment=mine,
        to_number=str(milo.mobile_phone),
        body="Milpitas reminder body",
        kind=MessageKind.REMINDER,
    )

    glenna = ClientFactory(
        first_name="Glennabeth",
        last_name="Hiddenmoor",
        email="glenna.hiddenmoor@example.com",
        mobile_phone="+14085559876",
        preferred_location=glendale,
    )
    theirs = AppointmentFactory(client=glenna, location=glendale, service=g_service, practitioner=g_person, start=start)
    # A client of Glendale only by an appointment there (no preferred location).
    glen_walkin = ClientFactory(
        first_name="Glennabeth", last_name="Hiddenmoor-Walkin", email="walkin.hiddenmoor@example.com"
    )
    AppointmentFactory(
        client=glen_walkin,
        location=glendale,
        service=g_service,
        practitioner=g_person,
        start=start + timedelta(hours=2),
    )
    outbound = message(
        client=glenna,
        location=glendale,
        appointment=theirs,
        to_number="+14085559876",
        body="Reminder body only Glendale may read",
        kind=MessageKind.REMINDER,
    )
    inbound = message(
        direction=Direction.INBOUND,
        from_number="+14085559876",
        client=glenna,
        location=glendale,
        body="Inbound question only Glendale may read",
        status=MessageStatus.RECEIVED,
        keyword="none",
    )
    opt_out = SmsOptOut.objects.create(
        phone_hash=contact_hash("+14085559876"), phone="+14085559876", reason="STOP", evidence="SMabc"
    )
    email_opt_out = EmailOptOut.objects.create(
        email_hash=contact_hash(glenna.email), email=glenna.email, reason="Unsubscribed"
    )
    consent = record_consent(
        client=glenna,
        purpose=ConsentPurpose.SMS_MARKETING,
        granted=True,
        notice_text="Texts?",
        source=ConsentSource.BOOKING_FORM,
        ip_address="203.0.113.77",
        user_agent="GlennaBrowser/1.0",
    )
    cookie_choice = record_consent(
        visitor_id="v-1",
        purpose=ConsentPurpose.COOKIES_ANALYTICS,
        granted=True,
        notice_text="Cookies?",
        source=ConsentSource.COOKIE_BANNER,
        ip_address="198.51.100.99",
        user_agent="Visitor/1.0",
    )
    campaign = Campaign.objects.create(
        name="Glendale spring offer", channel="email", location=glendale, body="Hi", send_at=start
    )
    everywhere = Campaign.objects.create(name="Every location offer", channel="email", body="Hi", send_at=start)
    sent = CampaignEmail.objects.create(campaign=campaign, client=glenna, to_email=glenna.email)
    request = DataSubjectRequest.objects.create(
        request_type="access",
        email=glenna.email,
        phone="+14085559876",
        regime=Regime.GDPR,
        received_at=timezone.now(),
        due_at=timezone.now() + timedelta(days=30),
    )
    request.clients.add(glenna)
    event = PrivacyAuditEvent.objects.create(action="data_viewed", client=glenna, detail="Glennabeth Hiddenmoor viewed")
    objects = {
        Location: [glendale],
        Client: [glenna, glen_walkin],
        Appointment: list(Appointment.objects.filter(location=glendale)),
        Practitioner: [g_person],
        LocationClosure: [
            LocationClosure.objects.create(location=glendale, date=start.date(), reason="Glendale closed")
        ],
        TimeOff: [
            TimeOff.objects.create(practitioner=g_person, start=start, end=start + timedelta(hours=1), reason="Dentist")
        ],
        WorkingHours: list(WorkingHours.objects.filter(location=glendale)),
        SmsMessage: [outbound, inbound],
        InboundMessage: [InboundMessage.objects.get(pk=inbound.pk)],
        SmsOptOut: [opt_out],
        EmailOptOut: [email_opt_out],
        ReminderRule: [ReminderRule.objects.create(location=glendale, minutes_before=90)],
        Campaign: [campaign, everywhere],
        CampaignEmail: [sent],
        type(consent): [consent, cookie_choice],
        DataSubjectRequest: [request],
        PrivacyAuditEvent: [event],
    }
    return {
        "milpitas": milpitas,
        "glendale": glendale,
        "milo": milo,
        "glenna": glenna,
        "mine": mine,
        "theirs": theirs,
        "m_service": m_service,
        "m_person": m_person,
        "g_service": g_service,
        "g_person": g_person,
        "objects": objects,
    }


def assert_no_glendale_data(response, url, searched=""):
    content = response.content.decode(errors="replace")
    leaked = [secret for secret in GLENDALE_SECRETS if secret in content and secret not in searched]
    assert leaked == [], f"{url} ({response.status_code}) shows {leaked}"


def object_urls(model_admin, obj):
    """Every named URL of this admin that takes one object id, plus the 'view on site' shortcut."""
    opts = model_admin.model._meta
    urls = []
    for pattern in model_admin.get_urls():
        if not pattern.name or len(getattr(pattern.pattern, "converters", {})) != 1:
            continue
        try:
            urls.append(reverse(f"admin:{pattern.name}", args=[obj.pk]))
        except NoReverseMatch:
            continue
    urls.append(
        reverse(
            "admin:view_on_site",
            args=[ContentType.objects.get_for_model(opts.model, for_concrete_model=False).pk, obj.pk],
        )
    )
    return urls


def list_urls(model_admin):
    urls = []
    for pattern in model_admin.get_urls():
        if pattern.name and not getattr(pattern.pattern, "converters", {}):
            try:
                urls.append(reverse(f"admin:{pattern.name}"))
            except NoReverseMatch:
                continue
    return urls


def autocomplete_urls():
    urls = []
    for model, model_admin in admin.site._registry.items():
        for field_name in model_admin.autocomplete_fields:
            for term in ("", "Glennabeth", "Hiddenmoor", "555"):
                query = {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name,
                    "field_name": field_name,
                    "term": term,
                }
                urls.append(f"{reverse('admin:autocomplete')}?{urlencode(query)}")
    return urls


@pytest.mark.parametrize("role", [FRONT_DESK, CLINIC_MANAGER, PRIVACY_OFFICER])
@pytest.mark.policy("security")
def test_milpitas_staff_reach_nothing_of_glendale_through_any_admin_url(client, two_clinics, role):
    """Every ModelAdmin's pages for Glendale's records answer 403/404 and no page shows Glendale's people."""
    client.force_login(staff(role, two_clinics["milpitas"]))
    assert admin.site._registry, "no admins registered"
    crawled = 0
    for model, model_admin in admin.site._registry.items():
        for url in list_urls(model_admin):
            response = client.get(url, follow=True)
            assert_no_glendale_data(response, url)
            crawled += 1
        for obj in two_clinics["objects"].get(model, []):
            for url in object_urls(model_admin, obj):
                response = client.get(url)
                assert response.status_code in (302, 403, 404), f"{url} answered {response.status_code}"
                if response.status_code == 302:
                    assert str(obj.pk) not in response["Location"], f"{url} redirects to {response['Location']}"
                    response = client.get(url, follow=True)
                assert_no_glendale_data(response, url)
                crawled += 1
    assert crawled > 100
    for url in autocomplete_urls():
        response = client.get(url)
        assert response.status_code in (200, 403)
        assert_no_glendale_data(response, url)
    # The appointment add form, pre-filled with Glendale's client, practitioner and location.
    theirs = two_clinics["theirs"]
    query = urlencode(
        {
            "client": theirs.client_id,
            "practitioner": theirs.practitioner_id,
            "location": theirs.location_id,
            "service": theirs.service_id,
        }
    )
    response = client.get(f"{reverse('admin:appointments_appointment_add')}?{query}")
    assert response.status_code in (200, 403)
    assert_no_glendale_data(response, "appointment add form")
    # Changelists filtered by Glendale's ids show nothing of Glendale either.
    for url in (
        reverse("admin:appointments_appointment_changelist") + f"?location__id__exact={theirs.location_id}",
        reverse("admin:appointments_appointment_changelist") + f"?practitioner__id__exact={theirs.practitioner_id}",
        reverse("admin:messaging_smsmessage_changelist") + f"?client__id__exact={theirs.client_id}",
        reverse("admin:privacy_consentrecord_changelist") + f"?client__id__exact={theirs.client_id}",
    ):
        assert_no_glendale_data(client.get(url, follow=True), url)
    # Searches echo the term in the search box, and find nothing.
    for term in ("Hiddenmoor", "+14085559876", "(408) 555-9876", "glenna.hiddenmoor@example.com"):
        for name in (
            "clinic_client",
            "appointments_appointment",
            "messaging_smsmessage",
            "messaging_inboundmessage",
            "privacy_consentrecord",
        ):
            url = reverse(f"admin:{name}_changelist") + "?" + urlencode({"q": term})
            response = client.get(url, follow=True)
            assert_no_glendale_data(response, url, searched=term)
            assert "Hiddenmoor" not in response.content.decode().replace(term, "")


@pytest.mark.parametrize("role", [FRONT_DESK, CLINIC_MANAGER])
@pytest.mark.policy("security")
def test_milpitas_staff_change_nothing_of_glendale_by_posting_its_ids(client, two_clinics, role):
    """Forms validate against the user's locations: another location's client, practitioner or record is refused."""
    client.force_login(staff(role, two_clinics["milpitas"]))
    milpitas, theirs, glenna = two_clinics["milpitas"], two_clinics["theirs"], two_clinics["glenna"]
    start = timezone.localtime(timezone.now() + timedelta(days=5), milpitas.tzinfo)
    WorkingHoursFactory(practitioner=two_clinics["g_person"], location=milpitas, weekday=start.weekday())
    form = {
        "client": glenna.pk,
        "location": milpitas.pk,
        "service": two_clinics["m_service"].pk,
        "practitioner": two_clinics["m_person"].pk,
        "start_0": start.strftime("%Y-%m-%d"),
        "start_1": "10:00",
        "status": AppointmentStatus.BOOKED,
        "source": "front_desk",
        "notes": "",
        "override_working_hours": "on",
    }
    add = reverse("admin:appointments_appointment_add")
    response = client.post(add, form)
    assert not Appointment.objects.filter(location=milpitas, client=glenna).exists()
    assert_no_glendale_data(response, add)
    # Nor Glendale's practitioner or location.
    for field, value in (("practitioner", two_clinics["g_person"].pk), ("location", theirs.location_id)):
        response = client.post(add, {**form, "client": two_clinics["milo"].pk, field: value})
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert Appointment.objects.filter(client=two_clinics["milo"]).count() == 1
    # Glendale's client, renamed through their change page: 404 and untouched.
    response = client.post(
        reverse("admin:clinic_client_change", args=[glenna.pk]), {"first_name": "Changed", "last_name": "X"}
    )
    assert response.status_code == 404
    glenna.refresh_from_db()
    assert glenna.first_name == "Glennabeth"
    # A bulk action naming Glendale's appointment leaves it as it was.
    client.post(
        reverse("admin:appointments_appointment_changelist"),
        {"action": "mark_cancelled", "_selected_action": [theirs.pk]},
    )
    theirs.refresh_from_db()
    assert theirs.status == AppointmentStatus.BOOKED


def test_milpitas_staff_see_their_own_location_in_the_same_pages(client, two_clinics):
    """The crawl is not vacuous: Milpitas's own client, messages and filters are there."""
    client.force_login(staff(FRONT_DESK, two_clinics["milpitas"]))
    assert "Visiblesen" in client.get(reverse("admin:clinic_client_changelist")).content.decode()
    assert (
        "Milpitas reminder body"
        in client.get(reverse("admin:clinic_client_change", args=[two_clinics["milo"].pk])).content.decode()
    )
    log = client.get(reverse("admin:messaging_smsmessage_changelist")).content.decode()
    assert "Visiblesen" in log and "Hiddenmoor" not in log
    filters = client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert two_clinics["m_person"].name in filters and "Dr Glendalia" not in filters
    search = client.get(
        reverse("admin:autocomplete")
        + "?"
        + urlencode({"app_label": "appointments", "model_name": "appointment", "field_name": "client", "term": ""})
    ).json()
    assert [row["text"] for row in search["results"]] == [str(two_clinics["milo"])]


def test_a_practitioner_shared_by_two_locations_keeps_the_other_location_when_one_edits(client, two_clinics):
    """A Milpitas manager saving a practitioner who also works at Glendale does not drop Glendale."""
    person = two_clinics["g_person"]
    person.locations.add(two_clinics["milpitas"])
    TimeOff.objects.filter(practitioner=person).delete()  # keeps the posted form to the fields under test
    client.force_login(staff(CLINIC_MANAGER, two_clinics["milpitas"]))
    page = client.get(reverse("admin:appointments_practitioner_change", args=[person.pk])).content.decode()
    assert f'value="{two_clinics["glendale"].pk}"' not in page.split('name="locations"')[1].split("</select>")[0]
    form = {
        "name": person.name,
        "title": "",
        "is_active": "on",
        "locations": [two_clinics["milpitas"].pk],
        "service_skills-TOTAL_FORMS": 1,
        "service_skills-INITIAL_FORMS": 0,
        "service_skills-0-service": two_clinics["m_service"].pk,
        "service_skills-0-location": two_clinics["milpitas"].pk,
        "service_skills-0-duration_minutes": "",
        "working_hours-TOTAL_FORMS": 0,
        "working_hours-INITIAL_FORMS": 0,
        "time_off-TOTAL_FORMS": 0,
        "time_off-INITIAL_FORMS": 0,
    }
    response = client.post(reverse("admin:appointments_practitioner_change", args=[person.pk]), form)
    assert response.status_code == 302, re.findall(r"errorlist.*?</ul>", response.content.decode(), re.S)
    assert set(person.locations.all()) == {two_clinics["milpitas"], two_clinics["glendale"]}
    # Glendale's service, not offered to choose (nor listed among the services they perform), is kept too.
    assert 'name="service_skills-INITIAL_FORMS" value="0"' in page  # the Glendale service's row is not listed
    assert set(person.services.all()) == {two_clinics["m_service"], two_clinics["g_service"]}


def test_a_location_limited_user_must_give_a_location_for_a_campaign(client, two_clinics):
    """A campaign with no location reaches every location's clients: not for Milpitas staff."""
    client.force_login(staff(CLINIC_MANAGER, two_clinics["milpitas"]))
    form = {
        "name": "All of them",
        "channel": "email",
        "location": "",
        "subject": "Hi",
        "body": "Hi",
        "send_at_0": "2030-01-01",
        "send_at_1": "10:00",
    }
    response = client.post(reverse("admin:messaging_campaign_add"), form)
    assert response.status_code == 200 and not Campaign.objects.filter(name="All of them").exists()


MILPITAS_SECRETS = ["Milo", "Visiblesen", "Milpitas reminder body"]


def staff_without_locations(role, *, profile=True):
    """A staff user given a role but no location and no "All locations" tick (or no profile at all)."""
    user = StaffFactory(locations=[])
    if not profile:
        StaffProfile.objects.filter(user=user).delete()
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # no cached profile


@pytest.mark.parametrize("profile", [True, False], ids=["profile without locations", "no profile"])
@pytest.mark.parametrize("role", [FRONT_DESK, CLINIC_MANAGER, PRIVACY_OFFICER])
@pytest.mark.policy("security")
def test_staff_with_no_locations_and_no_all_locations_tick_see_no_ones_records(client, two_clinics, role, profile):
    """Deny by default: no client, appointment, text, consent or campaign of any location; privacy pages 403."""
    user = staff_without_locations(role, profile=profile)
    client.force_login(user)
    milpitas = two_clinics["milpitas"]
    mine = {
        Client: [two_clinics["milo"]],
        Appointment: [two_clinics["mine"]],
        SmsMessage: list(SmsMessage.objects.filter(location=milpitas)),
    }
    secrets = GLENDALE_SECRETS + MILPITAS_SECRETS
    crawled = 0
    for model, model_admin in admin.site._registry.items():
        for url in list_urls(model_admin):
            content = client.get(url, follow=True).content.decode(errors="replace")
            assert [s for s in secrets if s in content] == [], url
            crawled += 1
        for obj in two_clinics["objects"].get(model, []) + mine.get(model, []):
            for url in object_urls(model_admin, obj):
                response = client.get(url, follow=True)
                content = response.content.decode(errors="replace")
                assert [s for s in secrets if s in content] == [], f"{url} ({response.status_code})"
                crawled += 1
    assert crawled > 100
    # Each list the role may open is empty, and each record's page is a 404 (403 without the role's permission).
    records = {
        "clinic_client": [two_clinics["milo"], two_clinics["glenna"]],
        "appointments_appointment": [two_clinics["mine"], two_clinics["theirs"]],
        "messaging_smsmessage": mine[SmsMessage] + two_clinics["objects"][SmsMessage],
        "privacy_consentrecord": two_clinics["objects"][type(next(iter(two_clinics["glenna"].consent_records.all())))],
        "messaging_campaign": two_clinics["objects"][Campaign],
    }
    opened = 0
    for name, objs in records.items():
        app_label, model_name = name.split("_", 1)
        allowed = user.has_perm(f"{app_label}.view_{model_name}")
        response = client.get(reverse(f"admin:{name}_changelist"))
        assert response.status_code == (200 if allowed else 403), name
        if allowed:
            assert response.context_data["cl"].result_count == 0, name
            opened += 1
        for obj in objs:
            status = client.get(reverse(f"admin:{name}_change", args=[obj.pk])).status_code
            assert status == (404 if allowed else 403), f"{name} {obj.pk}: {status}"
    assert opened >= 3  # every role can open most of these lists: the emptiness is checked, not assumed
    for name in ("privacy_datasubjectrequest", "privacy_privacyauditevent"):
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403


@pytest.mark.parametrize("who", ["superuser", "front desk with All locations", "privacy officer with All locations"])
def test_superusers_and_staff_with_all_locations_see_everything(client, two_clinics, who):
    """The "All locations" tick (not an empty location list) is what opens every location's records."""
    if who == "superuser":
        user = StaffFactory(is_superuser=True, locations=[])
    else:
        user = staff_without_locations(PRIVACY_OFFICER if who.startswith("privacy") else FRONT_DESK)
        StaffProfile.objects.filter(user=user).update(all_locations=True)
    client.force_login(user)
    glenna, milo = two_clinics["glenna"], two_clinics["milo"]
    for person in (glenna, milo):
        assert client.get(reverse("admin:clinic_client_change", args=[person.pk])).status_code == 200
    clients = client.get(reverse("admin:clinic_client_changelist"))
    assert clients.context_data["cl"].result_count == Client.objects.count()
    log = client.get(reverse("admin:messaging_smsmessage_changelist")).content.decode()
    assert "Hiddenmoor" in log and "Visiblesen" in log
    appointments = client.get(reverse("admin:appointments_appointment_changelist"))
    assert appointments.context_data["cl"].result_count == Appointment.objects.count()
    assert "Dr Glendalia" in appointments.content.decode()
    assert (
        "GlennaBrowser/1.0"
        in client.get(
            reverse(
                "admin:privacy_consentrecord_change",
                args=[two_clinics["objects"][type(next(iter(glenna.consent_records.all())))][0].pk],
            )
        ).content.decode()
    )
    if who.startswith("privacy"):
        # Privacy requests and the audit trail name people of every location: all-locations staff only.
        for name in ("privacy_datasubjectrequest", "privacy_privacyauditevent", "messaging_campaign"):
            assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, name


def test_a_conversation_shows_only_the_users_locations_side(client, two_clinics):
    """A Glendale client who also texts Milpitas: Milpitas's reply page shows none of her Glendale texts."""
    to_milpitas = message(
        direction=Direction.INBOUND,
        from_number="+14085559876",
        client=two_clinics["glenna"],
        location=two_clinics["milpitas"],
        body="Do you have parking?",
        status=MessageStatus.RECEIVED,
        keyword="none",
    )
    client.force_login(staff(FRONT_DESK, two_clinics["milpitas"]))
    page = client.get(reverse("admin:messaging_inboundmessage_reply", args=[to_milpitas.pk])).content.decode()
    assert "Do you have parking?" in page
    assert "only Glendale may read" not in page


def test_the_demo_logins_keep_working_under_deny_by_default(client):
    """seed_demo's admin (superuser) sees every location; frontdesk.milpitas sees Milpitas only."""
    from appointments.demo import ensure_demo_logins, seed_demo_data

    locations, _ = seed_demo_data()
    assert len(locations) > 1
    ensure_demo_logins()
    milpitas = Location.objects.get(slug="milpitas")
    for username, expected in (("admin", set(Location.objects.all())), ("frontdesk.milpitas", {milpitas})):
        client.force_login(User.objects.get(username=username))
        response = client.get(reverse("admin:clinic_location_changelist"))
        assert response.status_code == 200
        assert set(response.context_data["cl"].queryset) == expected, username


def test_the_migration_keeps_what_existing_staff_saw_and_no_more():
    """Profiles with no locations (and staff with no profile) saw everything before: they get "All locations".

    Limited staff stay limited, superusers and non-staff users get no profile.
    """
    import importlib

    from django.apps import apps

    migration = importlib.import_module("clinic.migrations.0006_staffprofile_all_locations")
    milpitas = LocationFactory()
    empty = StaffFactory(locations=[])
    limited = StaffFactory(locations=[milpitas])
    no_profile = StaffFactory(locations=[])
    StaffProfile.objects.filter(user=no_profile).delete()
    boss = StaffFactory(is_superuser=True, locations=[])
    StaffProfile.objects.filter(user=boss).delete()
    customer = User.objects.create_user("not-staff")

    migration.keep_what_existing_staff_saw(apps, None)

    assert StaffProfile.objects.get(user=empty).all_locations
    assert not StaffProfile.objects.get(user=limited).all_locations
    assert StaffProfile.objects.get(user=no_profile).all_locations
    assert not StaffProfile.objects.filter(user__in=[boss, customer]).exists()


# --- The records that came later: payments, the waitlist, clinical forms, rooms, payment rules -----------
# Milpitas staff of every role, the Practitioner included, reach none of Glendale's through any admin URL,
# nor through the admin's own pages that take an appointment's id (charge a fee, checkout) or a location.

NEWER_SECRETS = [*GLENDALE_SECRETS, "Glendale-only allergy answer", "Glendale override reason", "Glendale laser 1"]


@pytest.fixture
def glendale_records(two_clinics):
    glendale, glenna, theirs = two_clinics["glendale"], two_clinics["glenna"], two_clinics["theirs"]
    start = theirs.start + timedelta(days=1)
    payment = Payment.objects.create(
        client=glenna, location=glendale, appointment=theirs, kind="deposit", amount=5000, status="succeeded"
    )
    refund = Refund.objects.create(payment=payment, amount=1000, reason="Glendale refund reason", status="succeeded")
    entry = WaitlistEntry.objects.create(
        client=glenna,
        location=glendale,
        service=two_clinics["g_service"],
        earliest_date=start.date(),
        latest_date=start.date() + timedelta(days=7),
    )
    opening = Opening.objects.create(
        location=glendale, practitioner=two_clinics["g_person"], start=start, end=start + timedelta(hours=1)
    )
    offer = WaitlistOffer.objects.create(
        opening=opening, entry=entry, expires_at=timezone.now() + timedelta(minutes=15)
    )
    template = form_template(services_=[two_clinics["g_service"]])
    answers = submission(
        client=glenna, template=template, appointment=theirs, answers={"allergies": "Glendale-only allergy answer"}
    )
    exam = GoodFaithExam.objects.create(
        client=glenna,
        appointment=theirs,
        outcome=ExamOutcome.values[0],
        examiner_name="Dr Glendalia",
        examined_at=timezone.now(),
    )
    override = CheckInOverride.objects.create(
        client=glenna,
        appointment=theirs,
        reason="Glendale override reason",
        recorded_by_name="Dr Glendalia",
        recorded_at=timezone.now(),
    )
    laser = ResourceType.objects.create(name="Laser (every location)")
    unit = ResourceUnit.objects.create(location=glendale, resource_type=laser, name="Glendale laser 1")
    requirement = ServiceRequirement.objects.create(service=two_clinics["g_service"], resource_type=laser)
    rule = PaymentRequirement.objects.create(location=glendale, service=two_clinics["g_service"], kind="card_on_file")
    policy = CancellationPolicy.objects.create(
        location=glendale, version=1, window_hours=24, late_cancel_fee=1, no_show_fee=1, wording="Glendale policy"
    )
    return {
        Payment: [payment],
        Refund: [refund],
        WaitlistEntry: [entry],
        Opening: [opening],
        WaitlistOffer: [offer],
        FormSubmission: [answers],
        GoodFaithExam: [exam],
        CheckInOverride: [override],
        ResourceUnit: [unit],
        ServiceRequirement: [requirement],
        PaymentRequirement: [rule],
        CancellationPolicy: [policy],
    }


def assert_nothing_of_glendale(response, url):
    content = response.content.decode(errors="replace")
    leaked = [secret for secret in NEWER_SECRETS if secret in content]
    assert leaked == [], f"{url} ({response.status_code}) shows {leaked}"


@pytest.mark.parametrize("role", [FRONT_DESK, CLINIC_MANAGER, PRIVACY_OFFICER, PRACTITIONER])
@pytest.mark.policy("security")
def test_milpitas_staff_reach_nothing_of_glendales_newer_records_through_any_admin_url(
    client, two_clinics, glendale_records, role
):
    client.force_login(staff(role, two_clinics["milpitas"]))
    crawled = 0
    for model, model_admin in admin.site._registry.items():
        for url in list_urls(model_admin):
            response = client.get(url, follow=True)
            assert response.status_code in (200, 403, 404, 405), f"{url} answered {response.status_code}"
            assert_nothing_of_glendale(response, url)
            crawled += 1
        for obj in glendale_records.get(model, []):
            for url in object_urls(model_admin, obj):
                if "/checkout/" in url:
                    continue  # takes an appointment's id, not this record's: crawled below with Glendale's
                response = client.get(url)
                assert response.status_code in (302, 403, 404), f"{url} answered {response.status_code}"
                assert_nothing_of_glendale(client.get(url, follow=True), url)
                crawled += 1
    assert crawled > 60
    theirs = two_clinics["theirs"]
    glendale = two_clinics["glendale"]
    for url in (
        reverse("admin:payments_payment_checkout", args=[theirs.pk]),
        reverse("admin:payments_payment_charge_fee", args=[theirs.pk, "no_show"]),
        reverse("admin:payments_payment_charge_fee", args=[theirs.pk, "late_cancel"]),
        reverse("admin:appointments_day_calendar") + f"?location={glendale.pk}",
        reverse("admin:payments_payment_takings") + f"?location={glendale.pk}",
        reverse("admin:appointments_appointment_changelist") + f"?location__id__exact={glendale.pk}",
        reverse("admin:payments_refund_changelist") + f"?payment__location__id__exact={glendale.pk}",
        reverse("admin:waitlist_waitlistentry_changelist") + f"?location__id__exact={glendale.pk}",
        reverse("admin:clinical_forms_formsubmission_changelist") + f"?client__id__exact={two_clinics['glenna'].pk}",
        reverse("admin:clinical_forms_formsubmission_changelist") + f"?appointment__id__exact={theirs.pk}",
    ):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (200, 302, 403, 404, 405), f"{url} answered {response.status_code}"
            assert_nothing_of_glendale(response, url)
