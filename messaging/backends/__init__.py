"""Pluggable SMS backends, shaped like Django's email backends.

SMS_BACKEND names a class: console (development), locmem (tests), twilio
(production). get_backend() returns the configured one.
"""

import os
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseSmsBackend


def get_backend(path: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """The configured backend, one per process and configuration.

    Reusing it keeps the Twilio client's HTTP connection open between texts,
    instead of a new TCP and TLS handshake for each one. With a path or
    arguments, a fresh instance.
    """
    if path is None and not kwargs:
        return _configured_backend(
            settings.SMS_BACKEND,
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            settings.TWILIO_API_BASE_URL,
            settings.TWILIO_TIMEOUT_SECONDS,
            settings.TWILIO_MESSAGING_SERVICE_SID,
        )
    backend: BaseSmsBackend = import_string(path or settings.SMS_BACKEND)(**kwargs)
    return backend


@lru_cache(maxsize=8)
def _configured_backend(path: str, *configuration: object) -> BaseSmsBackend:
    # The configuration is part of the cache key, so changed settings build a new backend.
    backend: BaseSmsBackend = import_string(path)()
    return backend


# A forked worker process must not share its parent's open connection.
os.register_at_fork(after_in_child=_configured_backend.cache_clear)
