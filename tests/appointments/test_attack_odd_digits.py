"""Ids checked with str.isdigit() then read with int(): "²" (and other superscripts) are digits to the first and
not to the second, so such a check let them through to a 500. Ids are ASCII digits (as clinic.admin_scoping.is_id)."""

import pytest
from django.urls import reverse

from tests.support.front_desk import front_desk_user
from tests.support.visits import at, book, visit_clinic, visit_form, visit_url

pytestmark = pytest.mark.django_db

ODD = ["²", "1²", "³²"]


@pytest.fixture
def clinic():
    return visit_clinic()


@pytest.mark.parametrize("odd", ODD)
def test_the_public_visit_details_page_refuses_a_superscript_practitioner_never_a_500(client, clinic, odd):
    ids = f"{clinic.consultation.pk},{clinic.facial.pk}"
    url = visit_url(clinic.location) + "details/"
    for practitioners in (f"{odd},any", f"any,{odd}"):
        query = {"services": ids, "start": at(9).isoformat(), "practitioners": practitioners}
        response = client.get(url, query)
        assert response.status_code == 302 and response["Location"] == visit_url(clinic.location)
        response = client.post(url, {**visit_form([]), **query})
        assert response.status_code == 302 and response["Location"] == visit_url(clinic.location)


@pytest.mark.parametrize("odd", ODD)
def test_the_front_desks_pages_refuse_a_superscript_id_never_a_500(client, clinic, odd):
    parts = book(clinic, [clinic.consultation, clinic.facial], at(9))
    client.force_login(front_desk_user(clinic.location))
    move = reverse("admin:appointments_move")
    assert client.post(move, {"appointment": odd}).status_code == 404
    response = client.post(
        move, {"appointment": parts[0].pk, "practitioner": odd, "start": at(14).isoformat(), "loaded_version": "x"}
    )
    assert response.status_code == 302
    assert client.get(reverse("admin:appointments_day_calendar"), {"location": odd}).status_code == 404
    assert client.post(reverse("admin:appointments_day_calendar_status"), {"appointment": odd}).status_code == 404
    response = client.get(reverse("admin:appointments_book_visit"), {"client_search": "Dana", "client": odd})
    assert response.status_code == 200
