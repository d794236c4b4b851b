"""Reads for client accounts: whose record a proven address opens, the signed-in client, their visits."""

import unicodedata
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import ACTIVE_STATUSES
from clinic import identity
from clinic.models import Client
from clinical_forms.models import FormSubmission, SubmissionStatus
from clinical_forms.selectors import visit_forms_status
from payments.models import Payment
from privacy.models import ConsentRecord

from .models import AccountSession
from .tokens import secret_hash

SESSION_KEY = "account_key"  # in the browser's Django session: the raw key whose hash names its AccountSession


def account_for_email(email: str) -> Client | None:
    """The record a link to this address signs in to: one whose email is proven, else the oldest holding it."""
    return identity.clients_with_email(email).order_by(F("email_verified_at").asc(nulls_last=True), "pk").first()


def same_person_name(first: str, other: str) -> bool:
    """Two records' first names read as one person's (case, width and spacing aside)."""
    return _name_key(first) == _name_key(other)


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().split())


class SharedNumber(Exception):
    """The number is on file for more than one person (a household sharing a phone): a code proves none of them."""

    def __init__(self, oldest: Client) -> None:
        super().__init__("This number is on file for more than one person.")
        self.oldest = oldest  # whose message log the notice to the phone goes in


def account_for_phone(phone: str) -> Client | None:
    """The record a code to this number signs in to: the one whose phone is proven, else the oldest holding it.

    A code proves control of the phone, not which of the people sharing it is typing. So when
    no single record has proven the number and the live records holding it carry different
    first names (a household's shared phone, or a stranger's booking with the number),
    SharedNumber is raised and no record is chosen: those clients sign in by the emailed link.
    Records with one first name are one person's (a booking made signed out): the oldest.
    """
    if not phone:
        return None
    holders = list(
        Client.objects.filter(mobile_phone=str(phone), erased_at__isnull=True)
        .order_by(F("phone_verified_at").asc(nulls_last=True), "pk")
        .only("pk", "first_name", "phone_verified_at")
    )
    proven = [c for c in holders if c.phone_verified_at is not None]
    if len(proven) == 1:
        chosen = proven[0]
    elif len({_name_key(c.first_name) for c in (proven or holders)}) > 1:
        raise SharedNumber(holders[0])
    elif holders:
        chosen = holders[0]
    else:
        return None
    return Client.objects.get(pk=chosen.pk)


def live_session(raw_key: str, *, now: datetime | None = None) -> AccountSession | None:
    """The live session this browser's key names, with its client; None if ended, expired or unknown."""
    if not raw_key:
        return None
    now = now or timezone.now()
    return (
        AccountSession.objects.select_related("client", "client__preferred_location")
        .filter(
            key_hash=secret_hash("session", raw_key),
            ended_at__isnull=True,
            expires_at__gt=now,
            client__erased_at__isnull=True,
        )
        .first()
    )


def signed_in_client(request) -> Client | None:
    """The client of this browser's live account session (clinic.identity.signed_in_client asks here)."""
    session = getattr(request, "account_session", None) or live_session(request.session.get(SESSION_KEY, ""))
    return session.client if session is not None else None


def records_to_join(client: Client) -> QuerySet[Client]:
    """Other live records holding a contact point this client has PROVEN (the account's email or phone).

    Bookings made signed out stay on a record of their own (clinic.identity); the
    person who proved control of the email or number such a record holds may see
    and join them. A contact point not proven opens nothing.
    """
    match = Q(pk__in=[])
    if client.email and client.email_verified_at:
        match |= Q(pk__in=identity.clients_with_email(client.email).values("pk"))
    if client.mobile_phone and client.phone_verified_at:
        match |= Q(mobile_phone=str(client.mobile_phone))
    candidates = Client.objects.filter(match, erased_at__isnull=True).exclude(pk=client.pk).order_by("pk")
    # A household shares a phone or an inbox: a record with another first name is another person's,
    # never shown to nor joined by this account (the front desk merges real duplicates).
    same_person = [
        c.pk for c in candidates.only("pk", "first_name") if same_person_name(c.first_name, client.first_name)
    ]
    return Client.objects.filter(pk__in=same_person).order_by("pk")


def visits_to_join(client: Client) -> list[tuple[Client, list[Appointment]]]:
    """Each record this client may join, with its visits (what the account offers to keep together)."""
    return [(record, list(visits(record).order_by("start"))) for record in records_to_join(client)]


def visits(client: Client) -> QuerySet[Appointment]:
    return Appointment.objects.filter(client=client).select_related("location", "service", "practitioner")


def upcoming_and_past(client: Client, *, now: datetime | None = None) -> tuple[list[Appointment], list[Appointment]]:
    now = now or timezone.now()
    upcoming = list(visits(client).filter(end__gte=now).order_by("start"))
    past = list(visits(client).filter(end__lt=now).order_by("-start"))
    return upcoming, past


def visit_of(client: Client, appointment_id: int) -> Appointment | None:
    """One of this client's own visits; None for anyone else's (the view answers 404)."""
    return visits(client).filter(pk=appointment_id).first()


def consent_history(client: Client) -> QuerySet[ConsentRecord]:
    """Every consent choice on the client's record, newest first, with the words shown and when."""
    return ConsentRecord.objects.filter(client=client).order_by("-recorded_at", "-pk")


def payments(client: Client) -> QuerySet[Payment]:
    return Payment.objects.filter(client=client).select_related("location").order_by("-created_at", "-pk")


def signed_forms(client: Client) -> QuerySet[FormSubmission]:
    """The client's own signed forms, newest first (answers stay encrypted until a PDF is asked for)."""
    return (
        FormSubmission.objects.filter(client=client, status=SubmissionStatus.SIGNED)
        .select_related("version__template")
        .order_by("-signed_at", "-pk")
    )


def signed_form_of(client: Client, submission_id: int) -> FormSubmission | None:
    """One of this client's own signed forms; None for anyone else's (the view answers 404)."""
    return signed_forms(client).filter(pk=submission_id).first()


def forms_to_complete(upcoming: list[Appointment]) -> list[tuple[Appointment, list[dict]]]:
    """Each upcoming, still active visit with forms not yet complete, and each form's state."""
    rows = []
    for visit in upcoming:
        if visit.status not in ACTIVE_STATUSES:
            continue
        states = visit_forms_status(visit)
        if any(row["state"] != "complete" for row in states):
            rows.append((visit, states))
    return rows
