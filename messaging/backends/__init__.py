"""Pluggable SMS backends, shaped like Django's email backends.

SMS_BACKEND names a class: console (development), locmem (tests), twilio
(production). get_backend() builds the configured one.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def get_backend(path=None, **kwargs):
    return import_string(path or settings.SMS_BACKEND)(**kwargs)
