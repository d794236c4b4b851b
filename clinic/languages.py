"""The languages the site speaks, and the one each client is written to in.

A visitor's language is Django's active language (LocaleMiddleware: the chooser's cookie,
else the browser's Accept-Language). A booking remembers it on the client (Client.language),
and every text and email to them is written inside `client_language(client)`.
"""

from contextlib import AbstractContextManager

from django.conf import settings
from django.utils import translation


def supported(code: str | None) -> str:
    """The site's language closest to this code ("es-MX" -> "es"); LANGUAGE_CODE when none fits."""
    if code:
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


def current_language() -> str:
    """The language the visitor is being shown (the active one), as one of settings.LANGUAGES."""
    return supported(translation.get_language())


def language_of(client) -> str:  # type: ignore[no-untyped-def]
    """The language to write to this client in (theirs, when the site still speaks it)."""
    return supported(getattr(client, "language", None))


def client_language(client) -> AbstractContextManager:  # type: ignore[no-untyped-def]
    """`with client_language(client):` renders texts and emails in the client's language."""
    return translation.override(language_of(client))


def language_choices() -> list[tuple[str, str]]:
    return list(settings.LANGUAGES)
