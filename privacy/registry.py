"""Where each app declares the personal data it holds.

Each app registers, in its AppConfig.ready(), an exporter and an eraser for the
client records it owns, so that privacy requests reach every table without this
app importing the others' models.

- exporter(client_ids) -> {category: [row dict, ...]}
- eraser(client_ids) -> number of rows anonymised (None until the app has one)
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PersonalDataSource:
    app_label: str
    exporter: Callable
    eraser: Callable | None
    # Erasers run in ascending order: apps that need the contact details to
    # find their rows (messaging matches by phone) go before the client
    # record itself is wiped.
    erase_order: int = 50


_sources: dict[str, PersonalDataSource] = {}
_sms_sender = None


def register(app_label, *, exporter, eraser=None, erase_order=50):
    _sources[app_label] = PersonalDataSource(app_label, exporter, eraser, erase_order)


def sources():
    return sorted(_sources.values(), key=lambda s: (s.erase_order, s.app_label))


def register_sms_sender(func):
    """messaging provides how to text a verification code; privacy does not import it."""
    global _sms_sender
    _sms_sender = func


def send_verification_sms(*, phone, body, client=None):
    if _sms_sender is None:
        raise RuntimeError("No SMS sender registered (is the messaging app installed?)")
    return _sms_sender(phone=phone, body=body, client=client)


def erase_subject(client_ids):
    """Run every app's eraser; returns {app_label: rows changed}."""
    return {s.app_label: s.eraser(client_ids) for s in sources() if s.eraser is not None}


def export_subject(client_ids):
    """Every category of personal data held about these clients, per app."""
    bundle = {}
    for source in sources():
        bundle.update(source.exporter(client_ids))
    return bundle
