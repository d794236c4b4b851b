"""Start-up checks of the account settings: each a positive whole number (0 would make sign-in impossible)."""

from django.conf import settings
from django.core import checks

POSITIVE = ("ACCOUNT_SIGN_IN_LINK_MINUTES", "ACCOUNT_SIGN_IN_CODE_MINUTES", "ACCOUNT_SESSION_HOURS")


@checks.register(checks.Tags.security)
def account_settings(app_configs=None, **kwargs):
    return [
        checks.Error(f"{name} must be a positive whole number (it is {getattr(settings, name)!r}).", id="accounts.E001")
        for name in POSITIVE
        if not isinstance(getattr(settings, name), int) or getattr(settings, name) <= 0
    ]
