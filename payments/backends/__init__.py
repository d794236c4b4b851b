"""Pluggable payments backends, shaped like the SMS backends and Django's email backends.

PAYMENTS_BACKEND names a class: local (simulates Stripe for `make run` and tests,
nothing leaves the process) or stripe (the official library).
"""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BasePaymentsBackend


def get_backend(path: str | None = None, **kwargs: Any) -> BasePaymentsBackend:
    backend: BasePaymentsBackend = import_string(path or settings.PAYMENTS_BACKEND)(**kwargs)
    return backend
