"""A service booked with a deposit or a card on file is never booked unpaid inside a visit of several services."""

import pytest
from django.urls import reverse

from appointments import services
from appointments.models import Appointment
from clinic.models import Client
from payments.models import PaymentRequirement
from tests.support.visits import at, book, visit_clinic, visit_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_with_a_deposit_for_the_facial():
    clinic = visit_clinic()
    PaymentRequirement.objects.create(
        location=clinic.location, service=clinic.facial, kind="deposit_fixed", deposit_amount=5000
    )
    return clinic


def test_a_visit_with_a_service_that_takes_a_deposit_is_refused_and_writes_nothing(
    clinic_with_a_deposit_for_the_facial,
):
    clinic = clinic_with_a_deposit_for_the_facial
    with pytest.raises(services.BookingRefused, match="needs a deposit or a card on file"):
        book(clinic, [clinic.consultation, clinic.facial], at(9))
    assert not Appointment.objects.exists() and not Client.objects.exists()
    # Services that take no payment still make a visit.
    assert len(book(clinic, [clinic.consultation, clinic.neurotoxin], at(9))) == 2


def test_the_visit_form_does_not_offer_a_service_that_takes_a_deposit_and_says_to_book_it_on_its_own(
    client, clinic_with_a_deposit_for_the_facial
):
    clinic = clinic_with_a_deposit_for_the_facial
    page = client.get(visit_url(clinic.location)).content.decode()
    form = page.split('<form method="get"', 1)[1].split("</form>", 1)[0]
    assert clinic.consultation.name in form and clinic.facial.name not in form
    # The page says why it is missing and links to booking it on its own, through its payment step.
    alone = page.split('id="booked-alone"', 1)[1].split("</section>", 1)[0]
    assert "deposit or a card on file" in alone
    assert reverse("appointments:choose_time", args=[clinic.location.slug, clinic.facial.slug]) in alone
    assert clinic.consultation.name not in alone
