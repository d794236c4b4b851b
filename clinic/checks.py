"""Checks shared by the apps whose provider is a pluggable backend setting (SMS_BACKEND, PAYMENTS_BACKEND)."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string


def backend_setting_errors(*, setting: str, base: type, kind: str, hint: str, check_id: str) -> list[checks.Error]:
    """Errors when `settings.<setting>` does not name an importable subclass of `base`; none when it does."""
    path = getattr(settings, setting)
    try:
        backend = import_string(path)
    except ImportError as exc:
        return [checks.Error(f"{setting} {path!r} cannot be imported ({exc}).", hint=hint, id=check_id)]
    if not (isinstance(backend, type) and issubclass(backend, base)):
        return [checks.Error(f"{setting} {path!r} is not {kind} class.", id=check_id)]
    return []
