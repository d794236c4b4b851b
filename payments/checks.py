"""Start-up checks: a wrong PAYMENTS_BACKEND, the Stripe backend without its keys, or the local simulator
with DEBUG off and no PAYMENTS_ALLOW_SIMULATOR, fails
`manage.py check` and process start (clinic/startup.py), not the first client who pays."""

from django.conf import settings
from django.core import checks

from clinic.checks import backend_setting_errors

from .backends.base import BasePaymentsBackend
from .selectors import STRIPE_BACKEND

LOCAL_BACKEND = "payments.backends.local.PaymentsBackend"


@checks.register("payments")
def payments_backend_is_usable(app_configs=None, **kwargs):
    errors = backend_setting_errors(
        setting="PAYMENTS_BACKEND",
        base=BasePaymentsBackend,
        kind="a payments backend",
        hint="Use payments.backends.local.PaymentsBackend or payments.backends.stripe.PaymentsBackend.",
        check_id="payments.E001",
    )
    if errors:
        return errors
    if settings.PAYMENTS_BACKEND == LOCAL_BACKEND and not settings.PAYMENTS_ALLOW_SIMULATOR:
        return [
            checks.Error(
                "PAYMENTS_BACKEND is the local simulator with DEBUG off: a deposit, a card on file or a fee would be "
                "confirmed without any money taken.",
                hint="Set PAYMENTS_BACKEND=payments.backends.stripe.PaymentsBackend with STRIPE_SECRET_KEY and "
                "STRIPE_WEBHOOK_SECRET (README, Payments), or PAYMENTS_ALLOW_SIMULATOR=true for a demo, a load test "
                "or a clinic that sets no deposit, card on file or fee anywhere.",
                id="payments.E003",
            )
        ]
    if settings.PAYMENTS_BACKEND != STRIPE_BACKEND:
        return []
    hints = {
        "STRIPE_SECRET_KEY": "Set it from the Stripe dashboard (Developers > API keys).",
        "STRIPE_WEBHOOK_SECRET": "Set it from the webhook endpoint's signing secret (whsec_...).",
    }
    return [
        checks.Error(f"PAYMENTS_BACKEND is Stripe but {name} is not set.", hint=hint, id="payments.E002")
        for name, hint in hints.items()
        if not getattr(settings, name)
    ]


@checks.register("payments", deploy=True)
def no_simulated_payments_in_production(app_configs=None, **kwargs):
    """`check --deploy`: the local simulator confirms deposits and fees without taking any money (allowed
    explicitly by PAYMENTS_ALLOW_SIMULATOR, else start-up already refused it: payments.E003)."""
    if settings.DEBUG or settings.PAYMENTS_BACKEND != LOCAL_BACKEND:
        return []
    return [
        checks.Warning(
            "PAYMENTS_BACKEND is the local simulator: a deposit, a card on file or a fee would be confirmed "
            "without any money taken.",
            hint="In production set PAYMENTS_BACKEND=payments.backends.stripe.PaymentsBackend with STRIPE_SECRET_KEY "
            "and STRIPE_WEBHOOK_SECRET (README, Payments); a clinic that takes no payments sets no deposit or card "
            "on file on any service.",
            id="payments.W001",
        )
    ]
