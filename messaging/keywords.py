"""What a client's reply means: opt-out, opt-in, help, an app's registered keyword, or a message for the front desk.

Matching is on the trimmed body, case-insensitive, punctuation ignored. Besides
the carrier keywords, a short reply that plainly revokes consent in other
words ("please stop texting me") is an opt-out, as US rules require; replies
that merely contain "stop" or "cancel" in another sense ("can I stop by at
3?", "I need to cancel my appointment") are not.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.core.exceptions import ImproperlyConfigured


class Keyword(Enum):
    """The carrier keywords, which always win. Every other keyword (C, JOIN, YES...) is an app's registration."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


# Spanish keywords work like the English ones, whatever the client's language, and are answered in
# Spanish (spanish_keyword()). Accents do not matter ("SÍ" is "SI"). INICIAR is the Spanish START:
# a plain "start" verb nobody texts a clinic in another sense (not INICIO, "home", nor SI, the
# waitlist's yes); the Spanish replies still name START, which every carrier and Twilio honour.
SPANISH_OPT_OUT_WORDS = {"ALTO", "PARAR"}
SPANISH_OPT_IN_WORDS = {"INICIAR"}
SPANISH_HELP_WORDS = {"AYUDA"}
# Spanish words of registered keywords (waitlist SI for YES, UNIRME for JOIN): also answered in Spanish.
SPANISH_APP_WORDS = {"SI", "UNIRME"}
OPT_OUT_WORDS = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "OPT OUT",
    *SPANISH_OPT_OUT_WORDS,
}
OPT_IN_WORDS = {"START", "UNSTOP", *SPANISH_OPT_IN_WORDS}
HELP_WORDS = {"HELP", "INFO", *SPANISH_HELP_WORDS}
# Messaging's own registered keywords (messaging.apps): C confirms the next visit (not YES: carriers
# treat YES as an opt-in word); JOIN confirms an SMS marketing opt-in ticked on a form (double opt-in;
# not YES, taken by the waitlist's offers); UNIRME is the Spanish JOIN. (C is the same in Spanish.)
CONFIRM_WORDS = {"C", "CONFIRM"}
JOIN_WORDS = {"JOIN", "UNIRME"}
# Carrier keywords: they always mean what the carriers say, and no app may register them.
CARRIER_WORDS = frozenset(OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS)

_MEDIA = r"(TEXTS?|TXTS?|TEXTING|MESSAGES?|MESSAGING|SMS|SENDING|CONTACTING|CALLING|CONTACT)"
_REVOCATIONS = [
    re.compile(
        r"^(PLEASE )?(STOP|UNSUBSCRIBE|OPT ?OUT|REVOKE)( (IT|NOW|PLEASE|ALL|THIS|THESE|THEM|THANKS|THANK YOU|ME))*$"
    ),
    re.compile(rf"\bSTOP {_MEDIA}\b"),
    re.compile(r"\bSTOP (SENDING|TEXTING) ME\b"),
    re.compile(rf"\b(DONT|DO NOT|NEVER) {_MEDIA}\b"),
    re.compile(r"\b(DONT|DO NOT) (TEXT|MESSAGE|CONTACT|SMS) ME\b"),
    re.compile(rf"\bNO MORE {_MEDIA}\b"),
    re.compile(r"\b(REMOVE|TAKE) ME (OFF|FROM)\b"),
    re.compile(r"\b(UNSUBSCRIBE|OPT) ME( OUT)?\b"),
    re.compile(r"\bLEAVE ME ALONE\b"),
    re.compile(r"\bI WANT TO (UNSUBSCRIBE|OPT OUT)\b"),
]
# A revocation in other words is a short reply, not a paragraph about something else.
_MAX_REVOCATION_WORDS = 12


def clean_text(value, *, keep_newlines=True):
    """Drop NUL and other control characters (and lone surrogates) from text that came from outside."""
    keep = "\n\t" if keep_newlines else ""
    return "".join(ch for ch in str(value or "") if ch in keep or unicodedata.category(ch) not in ("Cc", "Cs"))


def normalise(body):
    # NFKC first: full-width "ＳＴＯＰ" and other compatibility forms read as STOP.
    text = "".join(ch for ch in clean_text(body) if unicodedata.category(ch) != "Cf")  # zero-width and format marks
    text = unicodedata.normalize("NFKC", text)
    # Accents dropped ("SÍ" is "SI", "PARÁR" is "PARAR"): decomposed, their combining marks removed.
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
    text = text.upper().replace("’", "").replace("'", "")
    text = re.sub(r"[^A-Z0-9 ]+", " ", text)
    return " ".join(text.split())


def spanish_keyword(body) -> bool:
    """Whether the text is a Spanish keyword (ALTO, PARAR, INICIAR, AYUDA, SI, UNIRME): its reply is then in Spanish."""
    return normalise(body) in SPANISH_OPT_OUT_WORDS | SPANISH_OPT_IN_WORDS | SPANISH_HELP_WORDS | SPANISH_APP_WORDS


def classify(body):
    text = normalise(body)
    if text in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if text in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if text in HELP_WORDS:
        return Keyword.HELP
    if text and len(text.split()) <= _MAX_REVOCATION_WORDS and any(p.search(text) for p in _REVOCATIONS):
        return Keyword.OPT_OUT
    return Keyword.NONE


# --- Keywords other apps register -------------------------------------------------------------


@dataclass(frozen=True)
class KeywordHandler:
    """An app's keyword: `handle(text)` answers an inbound text whose whole body is one of `words`.

    `handle` receives a messaging.inbound.InboundText and returns the reply (may be ""), or None
    when the text is not for it after all (no offer waiting): it then goes to the front desk's inbox.
    """

    name: str  # stored on the inbound text (SmsMessage.keyword), at most 20 characters
    words: frozenset[str]
    handle: Callable[[Any], str | None]


_registry: dict[str, KeywordHandler] = {}


def register_keyword(*, name: str, words: Iterable[str], handler: Callable[[Any], str | None]) -> None:
    """Register an app's keyword (in its AppConfig.ready()). Carrier words and taken words are refused."""
    normalised = frozenset(normalise(w) for w in words)
    if not name or len(name) > 20 or not normalised or "" in normalised:
        raise ImproperlyConfigured(f"Keyword {name!r}: a name of at most 20 characters and some words are needed.")
    if clash := normalised & CARRIER_WORDS:
        raise ImproperlyConfigured(f"Keyword {name!r}: {sorted(clash)} are carrier keywords (STOP, START, HELP).")
    taken: set[str] = set()
    for other in _registry.values():
        if other.name != name:
            taken |= other.words
    if clash := normalised & taken:
        raise ImproperlyConfigured(f"Keyword {name!r}: {sorted(clash)} are already taken.")
    _registry[name] = KeywordHandler(name=name, words=normalised, handle=handler)


def unregister_keyword(name: str) -> KeywordHandler | None:
    """Remove a registration (tests)."""
    return _registry.pop(name, None)


def registered_handler(body: str) -> KeywordHandler | None:
    """The app keyword this whole text is, if any. Never one of the carrier or built-in words."""
    if classify(body) != Keyword.NONE:
        return None  # STOP, START, HELP (and a revocation in other words) always win
    text = normalise(body)
    return next((h for h in _registry.values() if text in h.words), None)
