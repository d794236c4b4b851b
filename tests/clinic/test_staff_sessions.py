"""Staff sessions end after ADMIN_IDLE_TIMEOUT_MINUTES without a request; other sessions are not timed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.support.builders import StaffFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
ADMIN = reverse("admin:index")


def signed_in(client):
    return "_auth_user_id" in client.session


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.mark.policy("security")
def test_a_staff_session_idle_longer_than_the_limit_is_signed_out(client, clock):
    client.force_login(StaffFactory(is_superuser=True))
    assert client.get(ADMIN).status_code == 200
    clock.shift(timedelta(minutes=31))
    response = client.get(ADMIN)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert not signed_in(client)


def test_a_staff_member_who_keeps_working_stays_signed_in(client, clock):
    client.force_login(StaffFactory(is_superuser=True))
    for _ in range(8):  # two hours, a page every quarter of an hour
        assert client.get(ADMIN).status_code == 200
        clock.shift(timedelta(minutes=15))
    assert client.get(ADMIN).status_code == 200 and signed_in(client)


def test_the_idle_limit_is_a_setting(client, clock, settings):
    settings.ADMIN_IDLE_TIMEOUT_MINUTES = 5
    client.force_login(StaffFactory(is_superuser=True))
    client.get(ADMIN)
    clock.shift(timedelta(minutes=4))
    assert client.get(ADMIN).status_code == 200
    clock.shift(timedelta(minutes=6))
    assert client.get(ADMIN).status_code == 302 and not signed_in(client)


def test_a_session_that_is_not_staff_is_not_timed(client, clock, django_user_model):
    """Client sessions (a future client account) keep Django's own session age."""
    person = django_user_model.objects.create_user("someone", password="x" * 16)
    client.force_login(person)
    client.get("/privacy/")
    clock.shift(timedelta(hours=3))
    client.get("/privacy/")
    assert signed_in(client)
