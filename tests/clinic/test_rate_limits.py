"""Rate limits on the public entry points, and lockout after repeated failed staff logins."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from twilio.request_validator import RequestValidator

from privacy.requests_models import DataSubjectRequest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tight_limits(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "privacy_request": "3/h",
        "booking": "3/m",
        "sms_sender": "3/m",
        "webhook": "100/m",
    }
    cache.clear()
    yield
    cache.clear()


def test_privacy_request_form_is_rate_limited_with_a_friendly_429(client):
    for i in range(3):
        assert (
            client.post(
                reverse("privacy:request_form"), {"request_type": "access", "email": f"p{i}@example.com"}
            ).status_code
            == 200
        )
    response = client.post(reverse("privacy:request_form"), {"request_type": "access", "email": "p9@example.com"})
    assert response.status_code == 429 and "Too many tries" in response.content.decode()
    assert DataSubjectRequest.objects.count() == 3
    assert client.get(reverse("privacy:request_form")).status_code == 200  # reading the form is not limited


def test_booking_posts_are_rate_limited(client):
    url = reverse("appointments:details", args=["nowhere", "nothing"])
    codes = [client.post(url, {}).status_code for _ in range(4)]
    assert codes[:3] == [404, 404, 404] and codes[3] == 429


def test_inbound_sms_is_rate_limited_per_sender(client):
    url = "/messaging/twilio/inbound/"

    def text(sender, n):
        data = {"MessageSid": f"SM{n:032d}", "From": sender, "To": "+14088211633", "Body": "hello"}
        signature = RequestValidator("test-auth-token").compute_signature("http://testserver" + url, data)
        return client.post(url, data, HTTP_X_TWILIO_SIGNATURE=signature).status_code

    assert [text("+14085550143", n) for n in range(4)] == [200, 200, 200, 429]
    assert text("+14085550199", 10) == 200  # another sender is not held back


def test_staff_are_locked_out_after_repeated_failed_logins(client, django_user_model):
    django_user_model.objects.create_user("desk", password="right-password-123", is_staff=True)
    login = reverse("admin:login")
    for _ in range(5):
        client.post(login, {"username": "desk", "password": "wrong"})
    response = client.post(login, {"username": "desk", "password": "right-password-123"})
    assert response.status_code == 429 and "locked" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_limits_count_the_address_the_proxy_saw_not_one_the_client_claims(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse("privacy:request_form")

    def post(i, forwarded_for):
        data = {"request_type": "access", "email": f"x{i}@example.com"}
        return client.post(url, data, HTTP_X_FORWARDED_FOR=forwarded_for, REMOTE_ADDR="10.0.0.2").status_code

    # The same visitor (203.0.113.7, as appended by our proxy) forging a new first entry each time.
    codes = [post(i, f"198.51.100.{i}, 203.0.113.7") for i in range(4)]
    assert codes == [200, 200, 200, 429]
    assert post(9, "203.0.113.8") == 200  # another visitor behind the same proxy
    assert post(10, "203.0.113.9:5678") == 200  # a malformed entry falls back to the proxy's address


def test_behind_a_proxy_the_staff_lockout_counts_the_visitor_not_the_proxy(client, settings, django_user_model):
    settings.TRUSTED_PROXY_COUNT = 1
    django_user_model.objects.create_user("desk", password="right-password-123", is_staff=True)
    login = reverse("admin:login")
    for _ in range(5):
        client.post(
            login, {"username": "desk", "password": "wrong"}, HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2"
        )
    locked = client.post(
        login,
        {"username": "desk", "password": "right-password-123"},
        HTTP_X_FORWARDED_FOR="203.0.113.7",
        REMOTE_ADDR="10.0.0.2",
    )
    assert locked.status_code == 429
    elsewhere = client.post(
        login,
        {"username": "desk", "password": "right-password-123"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
        REMOTE_ADDR="10.0.0.2",
    )
    assert elsewhere.status_code == 302  # the desk's own machine is not locked out by someone else's guesses
