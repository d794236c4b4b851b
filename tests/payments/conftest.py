import pytest

from payments import services
from payments.models import Payment, PaymentKind
from tests.support.builders import ClientFactory, LocationFactory


@pytest.fixture(autouse=True)
def _local_payments_backend(settings):
    from payments.backends import local

    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    local.reset()
    yield
    local.reset()


@pytest.fixture
def deposit(fake_stripe):
    """A 50.00 USD deposit submitted to (fake) Stripe, waiting for its webhook."""
    client = ClientFactory()
    customer = services.ensure_stripe_customer(client=client)
    payment = Payment.objects.create(
        client=client, location=LocationFactory(), kind=PaymentKind.DEPOSIT, amount=5000, currency="usd"
    )
    return services.submit_payment(payment_id=payment.pk, customer_id=customer)
