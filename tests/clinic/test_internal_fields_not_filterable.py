"""The client list takes no query-string filter on the internal fields (restriction of processing, phone problems)
from a user who may not see them: `?processing_restricted=1` would tell the front desk whose processing is
restricted, and `?mobile_phone_problem__icontains=` would read the hidden note a letter at a time."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from clinic.roles import PRIVACY_OFFICER
from tests.support.builders import ClientFactory, LocationFactory, StaffFactory
from tests.support.front_desk import front_desk_user

pytestmark = pytest.mark.django_db

LIST = reverse("admin:clinic_client_changelist")


@pytest.fixture
def clinic():
    location = LocationFactory()
    restricted = ClientFactory(
        preferred_location=location,
        last_name="Restricted-Person",
        processing_restricted=True,
        mobile_phone_problem="Twilio 30006: landline",
    )
    plain = ClientFactory(preferred_location=location, last_name="Plain-Person")
    return location, restricted, plain


@pytest.mark.parametrize(
    "query",
    [
        "processing_restricted=1",
        "processing_restricted__exact=1",
        "processing_restricted=0",
        "mobile_phone_problem__icontains=landline",
        "mobile_phone_problem__gt=",
        "mobile_phone_problem__startswith=T",
    ],
)
def test_the_front_desk_cannot_filter_the_client_list_on_internal_fields(client, clinic, query):
    location, restricted, plain = clinic
    client.force_login(front_desk_user(location))
    response = client.get(f"{LIST}?{query}")
    # Refused (Django answers a lookup it does not allow with a 400), or the whole list: never a yes/no.
    if response.status_code == 200:
        html = response.content.decode()
        assert restricted.last_name in html and plain.last_name in html
    else:
        assert response.status_code == 400


def test_the_privacy_officer_may_filter_on_them(client, clinic):
    _, restricted, plain = clinic
    officer = StaffFactory()
    officer.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    client.force_login(officer)
    html = client.get(f"{LIST}?processing_restricted__exact=1").content.decode()
    assert restricted.last_name in html and plain.last_name not in html
