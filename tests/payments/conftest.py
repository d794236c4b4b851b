import pytest


@pytest.fixture(autouse=True)
def _local_payments_backend(settings):
    from payments.backends import local

    settings.PAYMENTS_BACKEND = "payments.backends.local.PaymentsBackend"
    local.reset()
    yield
    local.reset()
