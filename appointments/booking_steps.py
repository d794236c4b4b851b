"""A step another app may put between the booking form and the booking, so appointments never imports it.

payments registers a provider in its AppConfig.ready(). The booking view asks `step_for` whether booking this
service here needs a step (a deposit, a card on file); if so it calls the step with the form's answers and
redirects the client to the URL it returns. The step holds the time and creates the client's record through
this app's services (`hold_booking`), and books it later (`book_appointment(client=..., hold_id=...)`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from django.http import HttpRequest

    from clinic.models import Client, Location

    from .models import Service
    from .services import BookingConsents, ClientDetails, RequestMeta


@dataclass(frozen=True)
class BookingRequest:
    """What the client asked for on the booking form (their answers already validated)."""

    location: "Location"
    service: "Service"
    start: datetime
    practitioner_id: int | None
    details: "ClientDetails"
    consents: "BookingConsents"
    meta: "RequestMeta"
    # identity.signed_in_client of the request: the step books on this record (hold_booking(signed_in=...)).
    signed_in: "Client | None" = None


class BookingStep(Protocol):
    def __call__(self, *, request: "HttpRequest", booking: BookingRequest) -> str: ...


# (location, service) -> the step to take before booking, or None when the booking needs none.
_providers: list[Callable[..., Any]] = []


def register(provider: Callable[..., BookingStep | None]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def step_for(*, location: "Location", service: "Service") -> BookingStep | None:
    for provider in _providers:
        step = provider(location=location, service=service)
        if step is not None:
            return step  # type: ignore[no-any-return]
    return None


# --- Visits of several services: one step for the whole visit (payments: the parts' deposits summed) -----------


@dataclass(frozen=True)
class VisitBookingRequest:
    """What the client asked for on the visit form: the services in order, each part's practitioner or None."""

    location: "Location"
    services: "list[Service]"
    start: datetime
    practitioner_ids: list[int | None]
    details: "ClientDetails"
    consents: "BookingConsents"
    meta: "RequestMeta"
    signed_in: "Client | None" = None


class VisitBookingStep(Protocol):
    def __call__(self, *, request: "HttpRequest", booking: VisitBookingRequest) -> str: ...


_visit_providers: list[Callable[..., Any]] = []


def register_visit(provider: Callable[..., VisitBookingStep | None]) -> None:
    if provider not in _visit_providers:
        _visit_providers.append(provider)


def visit_step_for(*, location: "Location", services: "list[Service]") -> VisitBookingStep | None:
    """The step a visit of these services takes before it is booked (a deposit, a card on file), or None."""
    for provider in _visit_providers:
        step = provider(location=location, services=services)
        if step is not None:
            return step  # type: ignore[no-any-return]
    return None


def visit_terms(*, location: "Location", services: "list[Service]") -> list[str]:
    """Sentences read before "Book" on the visit's details step (empty when no app adds any)."""
    return [line for provider in _visit_terms for line in provider(location=location, services=services)]


_visit_terms: list[Callable[..., list[str]]] = []


def register_visit_terms(provider: Callable[..., list[str]]) -> None:
    if provider not in _visit_terms:
        _visit_terms.append(provider)


# --- Cancelling online: what another app (payments) says it costs, shown before the client confirms ---------


@dataclass(frozen=True)
class CancellationTerms:
    """A cost of cancelling now, in plain words; `confirmed(appointment_id)` runs once the client has
    confirmed and the cancellation committed (it charges the fee, after commit)."""

    notice: str
    confirmed: Callable[[int], None]


_cancellation_providers: list[Callable[..., CancellationTerms | None]] = []


def register_cancellation_terms(provider: Callable[..., CancellationTerms | None]) -> None:
    if provider not in _cancellation_providers:
        _cancellation_providers.append(provider)


def cancellation_terms(*, appointment: Any) -> CancellationTerms | None:
    for provider in _cancellation_providers:
        terms = provider(appointment=appointment)
        if terms is not None:
            return terms
    return None


# --- The manage page: sections other apps add (payments: the client's payments), rendered HTML ----------------

_manage_sections: list[Callable[..., Any]] = []


def register_manage_section(provider: Callable[..., Any]) -> None:
    if provider not in _manage_sections:
        _manage_sections.append(provider)


def manage_sections(*, appointment: Any) -> list[Any]:
    return [html for html in (provider(appointment=appointment) for provider in _manage_sections) if html]


# --- Before "Book": what another app asks of this booking, in plain words (payments: deposit, cancellation policy) ---

_booking_terms: list[Callable[..., list[str]]] = []


def register_booking_terms(provider: Callable[..., list[str]]) -> None:
    if provider not in _booking_terms:
        _booking_terms.append(provider)


def booking_terms(*, location: "Location", service: "Service") -> list[str]:
    """Sentences the client reads on the details step, before "Book" (empty when no app adds any)."""
    return [line for provider in _booking_terms for line in provider(location=location, service=service)]
