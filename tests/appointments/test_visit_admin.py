"""The front desk books a visit of several services in the admin: all or nothing, only at their own locations."""

import pytest
from django.urls import reverse

from appointments.models import Appointment, AppointmentSource, Visit
from tests.support.builders import AppointmentFactory, ClientFactory, LocationFactory
from tests.support.front_desk import front_desk_user
from tests.support.visits import at, visit_clinic, visit_day

pytestmark = pytest.mark.django_db
URL = "admin:appointments_book_visit"


def _form(clinic, client_record, hh, mm=0, **extra):
    return {
        "client": client_record.pk,
        "location": clinic.location.pk,
        "date": visit_day().isoformat(),
        "time": f"{hh:02d}:{mm:02d}",
        "service_1": clinic.consultation.pk,
        "service_2": clinic.facial.pk,
        **extra,
    }


def test_front_desk_books_a_visit_of_several_services_in_the_admin(client):
    clinic = visit_clinic()
    client_record = ClientFactory(preferred_location=clinic.location)
    client.force_login(front_desk_user(clinic.location))
    assert reverse(URL) in client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
    assert client.get(reverse(URL)).status_code == 200
    response = client.post(reverse(URL), _form(clinic, client_record, 9, practitioner_2=clinic.blake.pk))
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = Visit.objects.get()
    parts = list(visit.appointments.order_by("start"))
    assert [(p.service, p.practitioner, p.start) for p in parts] == [
        (clinic.consultation, clinic.avery, at(9)),
        (clinic.facial, clinic.blake, at(9, 30)),
    ]
    assert {p.source for p in parts} == {AppointmentSource.FRONT_DESK}
    assert {p.client for p in parts} == {client_record}


def test_front_desk_visit_that_does_not_fit_books_nothing_and_says_why(client):
    clinic = visit_clinic()
    AppointmentFactory(location=clinic.location, service=clinic.facial, practitioner=clinic.blake, start=at(9, 30))
    client.force_login(front_desk_user(clinic.location))
    response = client.post(reverse(URL), _form(clinic, ClientFactory(preferred_location=clinic.location), 9))
    assert response.status_code == 200
    assert "The whole visit does not fit then" in response.content.decode()
    assert Appointment.objects.count() == 1 and not Visit.objects.exists()


def test_front_desk_cannot_book_a_visit_at_another_location(client):
    clinic = visit_clinic()
    own = LocationFactory()
    client.force_login(front_desk_user(own))
    # Their own client, but the clinic's location (and its services and people) is not theirs.
    response = client.post(reverse(URL), _form(clinic, ClientFactory(preferred_location=own), 9))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.policy("security")
def test_the_visit_forms_client_is_searched_not_listed_and_another_locations_client_cannot_be_found_or_picked(client):
    from urllib.parse import urlencode

    clinic = visit_clinic()  # the front desk's own location
    glendale = LocationFactory(name="Glendale")
    ours = ClientFactory(first_name="Milo", last_name="Visiblesen", preferred_location=clinic.location)
    theirs = ClientFactory(first_name="Glennabeth", last_name="Hiddenmoor", preferred_location=glendale)
    client.force_login(front_desk_user(clinic.location))

    page = client.get(reverse(URL)).content.decode()
    # An autocomplete (the admin's own search endpoint), not a select of every client.
    assert 'data-field-name="client"' in page and "admin-autocomplete" in page
    assert "Hiddenmoor" not in page and "Visiblesen" not in page

    def search(term):
        query = {"app_label": "appointments", "model_name": "appointment", "field_name": "client", "term": term}
        return [
            row["id"] for row in client.get(reverse("admin:autocomplete") + "?" + urlencode(query)).json()["results"]
        ]

    assert search("Visiblesen") == [str(ours.pk)]
    assert search("Hiddenmoor") == [] and search("Glennabeth") == []

    response = client.post(reverse(URL), _form(clinic, theirs, 9))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Appointment.objects.exists()
    response = client.post(reverse(URL), _form(clinic, ours, 9, practitioner_2=clinic.blake.pk))
    assert response.status_code == 302 and Appointment.objects.filter(client=ours).count() == 2


def _client_select(page):
    start = page.index('<select name="client"')
    return page[start : page.index("</select>", start)]


@pytest.mark.policy("security")
def test_without_javascript_the_visit_form_finds_the_client_by_name_or_phone_only_at_the_users_locations(client):
    """Rule: the visit form is usable without JavaScript (a search step lists matches in a plain select),
    and the search keeps staff scoping: a Milpitas user never finds, nor books for, a Glendale client."""
    clinic = visit_clinic()
    glendale = LocationFactory(name="Glendale")
    ours = ClientFactory(
        first_name="Milo", last_name="Sharedname", mobile_phone="+14085550177", preferred_location=clinic.location
    )
    theirs = ClientFactory(
        first_name="Glenn", last_name="Sharedname", mobile_phone="+14085550188", preferred_location=glendale
    )
    client.force_login(front_desk_user(clinic.location))

    # A gap clicked in the calendar (its date and time) survives the search.
    page = client.get(reverse(URL), {"client_search": "sharedname", "time": "09:00"}).content.decode()
    assert "Milo Sharedname" in _client_select(page) and "Glenn" not in page
    assert f'value="{ours.pk}"' in _client_select(page) and f'value="{theirs.pk}"' not in _client_select(page)
    assert '<input type="hidden" name="time" value="09:00">' in page
    by_phone = client.get(reverse(URL), {"client_search": "(408) 555-0177"}).content.decode()
    assert f'value="{ours.pk}"' in _client_select(by_phone)
    theirs_by_phone = client.get(reverse(URL), {"client_search": "(408) 555-0188"}).content.decode()
    assert "No client at your locations matches" in theirs_by_phone
    assert f'value="{theirs.pk}"' not in _client_select(theirs_by_phone)

    # A hand-made POST naming the other location's client is refused; the found one books.
    form = _form(clinic, theirs, 9, practitioner_2=clinic.blake.pk, client_search="sharedname")
    response = client.post(reverse(URL), form)
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert f'value="{theirs.pk}"' not in _client_select(response.content.decode())
    response = client.post(reverse(URL), {**form, "client": ours.pk})
    assert response.status_code == 302 and Appointment.objects.filter(client=ours).count() == 2
    assert not Appointment.objects.filter(client=theirs).exists()


def test_the_book_a_visit_page_has_one_heading_of_its_own(client):
    # The admin's layout already shows the page's title as its heading: a second one repeats it to a screen reader.
    clinic = visit_clinic()
    client.force_login(front_desk_user(clinic.location))
    page = client.get(reverse(URL)).content.decode()
    assert page.count("Book a visit of several services</h1>") == 1
