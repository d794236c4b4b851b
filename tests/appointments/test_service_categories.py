"""The public service list: grouped by category in the clinic's order (admin editable), not alphabetical;
the confirmation page: the service's preparation notes, the address and a map link."""

import re
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.links import manage_token
from appointments.models import AppointmentStatus, ServiceCategory
from tests.support.builders import AppointmentFactory, LocationFactory, ServiceFactory, bookable_clinic

pytestmark = pytest.mark.django_db


def headings_and_services(html):
    """[(heading, [service names])] in page order."""
    groups = []
    for section in re.findall(r'<section class="service-group".*?</section>', html, re.S):
        heading = re.search(r"<h2[^>]*>([^<]+)</h2>", section).group(1)
        groups.append((heading, re.findall(r"<h3><a [^>]+>([^<]+)</a></h3>", section)))
    return groups


def test_services_are_grouped_by_category_in_the_clinics_order_not_alphabetical(client):
    location = LocationFactory()
    laser = ServiceCategory.objects.create(name="Laser", position=3)
    injectables = ServiceCategory.objects.create(name="Injectables", position=1)
    for name, category, position in [
        ("Laser hair removal", laser, 0),
        ("Dermal filler", injectables, 2),
        ("Neurotoxin", injectables, 1),
        ("Aftercare chat", None, 0),
    ]:
        ServiceFactory(name=name, category=category, position=position, locations=[location])
    ServiceFactory(name="Retired peel", category=laser, is_active=False, locations=[location])
    ServiceFactory(name="Elsewhere only", category=laser, locations=[LocationFactory()])
    html = client.get(reverse("appointments:choose_service", args=[location.slug])).content.decode()
    assert headings_and_services(html) == [
        ("Injectables", ["Neurotoxin", "Dermal filler"]),
        ("Laser", ["Laser hair removal"]),
        ("Other services", ["Aftercare chat"]),
    ]


def test_the_order_is_changed_in_the_admin(admin_client, client):
    location = LocationFactory()
    first = ServiceCategory.objects.create(name="Facials", position=1)
    second = ServiceCategory.objects.create(name="Injectables", position=2)
    ServiceFactory(name="HydraFacial", category=first, locations=[location])
    ServiceFactory(name="Neurotoxin", category=second, locations=[location])
    response = admin_client.post(
        reverse("admin:appointments_servicecategory_change", args=[second.pk]),
        {"name": "Injectables", "position": 0},
    )
    assert response.status_code == 302
    html = client.get(reverse("appointments:choose_service", args=[location.slug])).content.decode()
    assert [heading for heading, _ in headings_and_services(html)] == ["Injectables", "Facials"]


def test_a_location_with_nothing_bookable_says_to_call(client):
    location = LocationFactory()
    html = client.get(reverse("appointments:choose_service", args=[location.slug])).content.decode()
    assert "No services can be booked online here right now" in html


def test_the_confirmation_page_shows_preparation_notes_the_address_and_a_map_link(client):
    location, service, (person,) = bookable_clinic()
    service.preparation = "Come without makeup.\nNo retinol for 3 days."
    service.save()
    appointment = AppointmentFactory(
        location=location, service=service, practitioner=person, start=timezone.now() + timedelta(days=3)
    )
    html = client.get(reverse("appointments:manage", args=[manage_token(appointment)])).content.decode()
    assert "Come without makeup.<br>No retinol for 3 days." in html
    assert "1 Main St<br>Milpitas, CA 95035" in html
    assert 'href="https://www.google.com/maps/search/?api=1&amp;query=Location+' in html
    assert "1+Main+St+Milpitas%2C+CA+95035" in html


def test_a_cancelled_visit_shows_no_preparation_notes(client):
    location, service, (person,) = bookable_clinic()
    service.preparation = "Come without makeup."
    service.save()
    appointment = AppointmentFactory(
        location=location,
        service=service,
        practitioner=person,
        start=datetime(2026, 12, 30, 10, tzinfo=location.tzinfo),
        status=AppointmentStatus.CANCELLED,
    )
    html = client.get(reverse("appointments:manage", args=[manage_token(appointment)])).content.decode()
    assert "Come without makeup" not in html
