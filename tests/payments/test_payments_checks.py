"""A wrong PAYMENTS_BACKEND, or Stripe without its keys, fails manage.py check and start-up."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from clinic.startup import refuse_to_start_if_misconfigured

STRIPE = "payments.backends.stripe.PaymentsBackend"


@pytest.mark.parametrize(
    "backend, secret, webhook_secret, expected",
    [
        ("payments.backends.nowhere.PaymentsBackend", "", "", "cannot be imported"),
        ("messaging.backends.console.SmsBackend", "", "", "is not a payments backend"),
        (STRIPE, "", "whsec_x", "STRIPE_SECRET_KEY is not set"),
        (STRIPE, "sk_live_x", "", "STRIPE_WEBHOOK_SECRET is not set"),
    ],
)
def test_a_misconfigured_payments_backend_fails_check_and_start_up(settings, backend, secret, webhook_secret, expected):
    settings.PAYMENTS_BACKEND = backend
    settings.STRIPE_SECRET_KEY = secret
    settings.STRIPE_WEBHOOK_SECRET = webhook_secret
    with pytest.raises(SystemCheckError, match=expected):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match=expected):
        refuse_to_start_if_misconfigured()


@pytest.mark.parametrize("backend", ["payments.backends.local.PaymentsBackend", STRIPE])
def test_a_usable_payments_backend_passes(settings, backend):
    settings.PAYMENTS_BACKEND = backend
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    call_command("check")
    refuse_to_start_if_misconfigured()


@pytest.mark.policy("use-payments")
def test_the_local_simulator_without_debug_fails_check_and_start_up_unless_allowed(settings):
    """payments.E003: production (PAYMENTS_ALLOW_SIMULATOR defaults to DEBUG) never confirms fake payments silently."""
    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    settings.PAYMENTS_ALLOW_SIMULATOR = False
    with pytest.raises(SystemCheckError, match="payments.E003"):
        call_command("check")
    with pytest.raises(ImproperlyConfigured, match="local simulator"):
        refuse_to_start_if_misconfigured()
    settings.PAYMENTS_ALLOW_SIMULATOR = True
    call_command("check")
