"""The waitlist's rules: joining, freed times, offers in waitlist order, YES and NO, expiry.

Offers go one at a time per freed time, in waitlist order (first joined, first offered), only
inside texting hours, at most WAITLIST_MAX_OFFERS_PER_DAY a day per number, and only to people
whose waitlist consent stands and whose number is not on the STOP list (asked again when the
text goes out: messaging.sending). The offered time is held (appointments.SlotHold) so nobody
else can book it while the offer waits; the first YES books it through appointments'
`book_appointment`, on the waitlist's own record for the person.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from appointments import booking_steps
from appointments.availability import find_free_slots
from appointments.models import Practitioner, Service, SlotHold
from appointments.services import (
    BookingConsents,
    BookingRefused,
    ClientDetails,
    SlotUnavailable,
    book_appointment,
    book_visit,
    hold_time,
    hold_visit,
    release_hold,
)
from appointments.visit_availability import MAX_VISIT_SERVICES, VisitSlot, find_visit_slots
from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.models import Client, Location
from clinic.queueing import enqueue
from messaging import quiet_hours
from messaging.models import MessageKind
from messaging.outbox import queue_message
from messaging.permissions import Purpose, has_texted_us, may_contact, number_on_file
from privacy.models import ConsentPurpose, ConsentSource
from privacy.notices import waitlist_notices
from privacy.policy import current_policy
from privacy.services import record_form_consents

from . import texts
from .models import (
    EntryStatus,
    OfferStatus,
    Opening,
    OpeningStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistVisitService,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from appointments.models import Appointment
    from appointments.services import RequestMeta

logger = logging.getLogger(__name__)


class WaitlistRefused(BusinessRuleError):
    """A waitlist request or a hand offer breaks a rule (the message says which)."""


def takes_a_payment(*, location: Location, service: Service) -> bool:
    """Booking this service here takes a deposit or a card on file first (appointments.booking_steps).

    A text reply cannot take one, so the waitlist neither takes nor offers such a service, and a YES
    never books it unpaid (the rule may come in while an offer waits): it is booked on the booking page.
    """
    return booking_steps.step_for(location=location, service=service) is not None


def _payment_refusal(service: Service) -> str:
    return (
        f"{service.name} needs a deposit or a card on file when it is booked, which a text reply cannot take: "
        "please book it online, or call the clinic."
    )


@dataclass
class WaitlistConsents:
    privacy_policy: bool
    sms_offers: bool


def join_waitlist(
    *,
    location: Location,
    service: Service,
    practitioner: Practitioner | None,
    earliest_date: date,
    latest_date: date,
    details: ClientDetails,
    consents: WaitlistConsents,
    meta: "RequestMeta",
    now: datetime | None = None,
    signed_in: Client | None = None,
    more_services: "list[Service] | tuple[Service, ...]" = (),
) -> WaitlistEntry:
    """Put a person on the waitlist: on the signed-in client's own record, else a new record of their own.

    The record comes from clinic.identity.client_for_booking, as a booking's does: `signed_in`
    (identity.signed_in_client of the request) proved control of its email or phone, so the entry
    is theirs and offers go to the number on file (what was typed is not copied onto it); signed
    out, a new record holding what was typed, nothing looked up. The waitlist's two consents are
    the person's own ticks either way (their session, or the new record's form).

    more_services: for a whole visit, the services after `service`, in order (the practitioner asked for,
    if any, does `service`; any qualified one the rest). Its offers hold and book the whole visit.
    """
    now = now or timezone.now()
    today = now.astimezone(location.tzinfo).date()
    if not consents.privacy_policy:
        raise WaitlistRefused("Please accept the privacy policy to join the waitlist.")
    if not consents.sms_offers:
        raise WaitlistRefused("Waitlist offers come by text: please agree to be texted when a time opens up.")
    if not details.mobile_phone:
        raise WaitlistRefused("Please give a mobile number for the offers.")
    if earliest_date > latest_date:
        raise WaitlistRefused("The first day must come before the last day.")
    if earliest_date < today or latest_date > today + timedelta(days=settings.BOOKING_HORIZON_DAYS):
        raise WaitlistRefused(f"Choose days from today to {settings.BOOKING_HORIZON_DAYS} days ahead.")
    if not service.is_active or not service.locations.filter(pk=location.pk).exists():
        raise WaitlistRefused(f"{service} is not offered at {location}.")
    if takes_a_payment(location=location, service=service):
        raise WaitlistRefused(_payment_refusal(service))
    if practitioner is not None and not (
        practitioner.is_active
        and practitioner.locations.filter(pk=location.pk).exists()
        and practitioner.services.filter(pk=service.pk).exists()
    ):
        raise WaitlistRefused(f"{practitioner} does not provide {service} at {location}.")
    if more_services:
        if len(more_services) + 1 > MAX_VISIT_SERVICES:
            raise WaitlistRefused(f"A visit has at most {MAX_VISIT_SERVICES} services.")
        for later in more_services:
            if not later.is_active or not later.locations.filter(pk=location.pk).exists():
                raise WaitlistRefused(f"{later} is not offered at {location}.")
        for each in (service, *more_services):
            # As online visits: a service with a deposit or card step is booked on its own, never in a visit.
            if booking_steps.step_for(location=location, service=each) is not None:
                raise WaitlistRefused(f"{each.name} needs a deposit or a card on file, so it is booked on its own.")
    notices = waitlist_notices()
    with transaction.atomic():
        client, _created = identity.client_for_booking(
            signed_in=signed_in,
            first_name=details.first_name,
            last_name=details.last_name,
            email=details.email,
            mobile_phone=details.mobile_phone,
            location=location,
            adult_attested_at=now,
        )
        if not client.mobile_phone:
            raise WaitlistRefused(
                "Waitlist offers come by text, and your account has no mobile number: add it under My data first."
            )
        record_form_consents(
            client=client,
            choices=[
                (ConsentPurpose.PRIVACY_POLICY, True, notices[ConsentPurpose.PRIVACY_POLICY], current_policy()),
                (ConsentPurpose.SMS_WAITLIST, True, notices[ConsentPurpose.SMS_WAITLIST], None),
            ],
            source=ConsentSource.WAITLIST_FORM,
            ip_address=meta.ip_address,
            user_agent=meta.user_agent,
            visitor_id=meta.visitor_id,
        )
        entry = WaitlistEntry.objects.create(
            client=client,
            location=location,
            service=service,
            practitioner=practitioner,
            earliest_date=earliest_date,
            latest_date=latest_date,
        )
        WaitlistVisitService.objects.bulk_create(
            WaitlistVisitService(entry=entry, position=n, service=later) for n, later in enumerate(more_services, 2)
        )
        return entry


def record_freed_time(
    *, location_id: int, practitioner_id: int, start: datetime, end: datetime, **ignored: object
) -> Opening:
    """A booked time became free: keep it as an opening and offer it (after commit, by a task)."""
    with transaction.atomic():
        opening = Opening.objects.create(location_id=location_id, practitioner_id=practitioner_id, start=start, end=end)
        transaction.on_commit(lambda: _queue_offer(opening.pk))
    return opening


def _queue_offer(opening_id: int) -> None:
    from .tasks import offer_opening

    enqueue(offer_opening, opening_id)


def offers_today(*, phone: str, now: datetime) -> int:
    """Offers texted to this number in the last 24 hours, whichever record of the number they went to."""
    return WaitlistOffer.objects.filter(
        entry__client__mobile_phone=phone, created_at__gt=now - timedelta(days=1)
    ).count()


def daily_offer_limit(*, client: "Client", phone: str) -> int:
    """WAITLIST_MAX_OFFERS_PER_DAY for a number proven to be the person's; one for a number never heard from.

    Anyone can join the waitlist with anyone's number: until the number texts us (a YES, a NO,
    anything) or is proven by a code or JOIN, it gets no more than the booking forms' one
    unsolicited text a day.
    """
    if client.phone_verified_at is not None or has_texted_us(phone):
        return settings.WAITLIST_MAX_OFFERS_PER_DAY
    return 1


def _offer_waiting(phone: str) -> bool:
    """Is an offer to this number, whichever record of it, still waiting for its YES or NO?

    Locks the records holding the number first (until the transaction ends), so two offers to one
    number made at once (two front-desk hand offers, the pass and a hand offer) check in turn and
    only one waits. FOR NO KEY UPDATE: a booking on the record (its foreign key) is not blocked.
    """
    list(
        Client.objects.select_for_update(no_key=True)
        .filter(mobile_phone=phone)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return WaitlistOffer.objects.filter(entry__client__mobile_phone=phone, status=OfferStatus.PENDING).exists()


def _candidates(opening: Opening) -> list[WaitlistEntry]:
    day = opening.start.astimezone(opening.location.tzinfo).date()
    entries = (
        WaitlistEntry.objects.filter(
            location_id=opening.location_id,
            status=EntryStatus.WAITING,
            earliest_date__lte=day,
            latest_date__gte=day,
        )
        # A whole visit's entry may use the freed practitioner for a later service, whoever does its first.
        .filter(
            Q(practitioner__isnull=True)
            | Q(practitioner_id=opening.practitioner_id)
            | Q(Exists(WaitlistVisitService.objects.filter(entry=OuterRef("pk"))))
        )
        .exclude(offers__opening=opening)  # each entry is offered a time once
        .exclude(offers__status=OfferStatus.PENDING)  # one offer at a time per person: a YES answers one
        .select_related("client", "service", "location")
        .prefetch_related("more_services__service")
        .order_by("created_at", "pk")
    )
    return list(entries)


def _fitting_start(opening: Opening, entry: WaitlistEntry, *, exact: bool) -> datetime | None:
    """The first time inside the opening that is free for the entry's service with the opening's practitioner
    (holds count); exact: only the opening's start (a time the front desk offers by hand)."""
    day = opening.start.astimezone(opening.location.tzinfo).date()
    slots = find_free_slots(
        location=opening.location,
        service=entry.service,
        start_date=day,
        end_date=day,
        practitioner_id=opening.practitioner_id,
    )
    starts = (slot.start for slot in slots if opening.start <= slot.start < opening.end)
    return next((start for start in starts if not exact or start == opening.start), None)


def _fitting_visit(opening: Opening, entry: WaitlistEntry, *, exact: bool) -> VisitSlot | None:
    """For an entry waiting for a whole visit: the first visit starting inside the opening in which the
    opening's practitioner does one of its services (the freed time is what it uses), each other service with
    any qualified practitioner (the entry's own choice, if any, does its first); holds count. exact: only at
    the opening's start.

    As a single service's "any" entry takes whoever freed the time, a visit's takes them for whichever of its
    services they perform: a freed facial fills "consultation then facial" with another practitioner's
    consultation first. Ties go to the opening's practitioner doing the earlier service.
    """
    day = opening.start.astimezone(opening.location.tzinfo).date()
    services = entry.visit_services()
    best: VisitSlot | None = None
    for position in range(len(services)):
        wanted: list[int | None] = [entry.practitioner_id, *([None] * (len(services) - 1))]
        if wanted[position] not in (None, opening.practitioner_id):
            continue  # the entry asked for someone else for its first service
        wanted[position] = opening.practitioner_id
        slots = find_visit_slots(
            location=opening.location,
            services=services,
            start_date=day,
            end_date=day,
            practitioner_ids=wanted,
        )
        found = next(
            (
                slot
                for slot in slots
                if opening.start <= slot.start < opening.end and (not exact or slot.start == opening.start)
            ),
            None,
        )
        if found is not None and (best is None or found.start < best.start):
            best = found
    return best


def _hold_for(
    opening: Opening, entry: WaitlistEntry, *, exact: bool, expires_at: datetime
) -> tuple[datetime, list[SlotHold]] | None:
    """Hold what the entry waits for inside the opening (its one service, or its whole visit): (start, holds)."""
    reason = "Waitlist offer"
    try:
        if entry.more_services.all():
            plan = _fitting_visit(opening, entry, exact=exact)
            if plan is None:
                return None
            holds = hold_visit(
                location=opening.location,
                services=entry.visit_services(),
                plan=plan,
                expires_at=expires_at,
                reason=reason,
            )
            return plan.start, holds
        start = _fitting_start(opening, entry, exact=exact)
        if start is None:
            return None
        hold = hold_time(
            location=opening.location,
            service=entry.service,
            practitioner_id=opening.practitioner_id,
            start=start,
            expires_at=expires_at,
            reason=reason,
        )
        return start, [hold]
    except SlotUnavailable:
        return None


def _split_at(opening: Opening, start: datetime) -> Opening:
    """Offer a later time than the opening's first (new hours: a whole span opened): the opening keeps the
    time before `start` for others (offered after commit) and a new one from `start` is offered now."""
    later = Opening.objects.create(
        location_id=opening.location_id, practitioner_id=opening.practitioner_id, start=start, end=opening.end
    )
    later.location = opening.location
    opening.end = start
    opening.save(update_fields=["end"])
    earlier = opening.pk
    transaction.on_commit(lambda: _queue_offer(earlier))
    return later


def _record_rest(opening: Opening, booked_until: datetime) -> None:
    """The opening is filled until `booked_until`: the rest of it (the rest of new hours' span, or of a
    longer cancelled time) is a new opening, offered in turn, so every free part is offered, not only the first."""
    if booked_until < opening.end:
        record_freed_time(
            location_id=opening.location_id,
            practitioner_id=opening.practitioner_id,
            start=booked_until,
            end=opening.end,
        )


def offer_opening(*, opening_id: int, now: datetime | None = None) -> WaitlistOffer | None:
    """Offer an open time to the next person in waitlist order who may be texted; None when nobody now.

    Safe to run any number of times: an opening with a live offer, or one filled or lapsed, is left alone.
    """
    now = now or timezone.now()
    with transaction.atomic():
        opening = (
            Opening.objects.select_for_update(of=("self",)).select_related("location").filter(pk=opening_id).first()
        )
        if opening is None or opening.status != OpeningStatus.OPEN:
            return None
        if opening.end <= now:
            opening.status = OpeningStatus.LAPSED
            opening.save(update_fields=["status"])
            return None
        if opening.offers.filter(status=OfferStatus.PENDING).exists():
            return None  # one offer at a time: its YES, NO or expiry moves to the next
        # An offer gives minutes to answer: it goes only while texting is allowed (the periodic pass retries).
        if not quiet_hours.is_allowed(now, opening.location.tzinfo):
            return None
        for entry in _candidates(opening):
            offer = _offer_to(opening=opening, entry=entry, now=now)
            if offer is not None:
                return offer
        return None


def _offer_to(
    *, opening: Opening, entry: WaitlistEntry, now: datetime, staff_user: "User | None" = None, exact: bool = False
) -> WaitlistOffer | None:
    if any(takes_a_payment(location=opening.location, service=each) for each in entry.visit_services()):
        return None  # a deposit or a card rule came in after this person joined: not by text
    client = entry.client
    phone = number_on_file(client)
    if not phone or offers_today(phone=phone, now=now) >= daily_offer_limit(client=client, phone=phone):
        return None
    if _offer_waiting(phone):
        # A YES answers the number's newest offer: a second one to a shared (family) phone would
        # turn the YES meant for the first into a booking for the other record.
        return None
    if not may_contact(client=client, purpose=Purpose.WAITLIST_OFFER):  # consent, STOP list, erasure, country
        return None
    expires_at = now + timedelta(minutes=settings.WAITLIST_OFFER_MINUTES)
    held = _hold_for(opening, entry, exact=exact, expires_at=expires_at)
    if held is None:
        return None
    start, holds = held
    if start != opening.start:
        opening = _split_at(opening, start)
    offer = WaitlistOffer.objects.create(
        opening=opening, entry=entry, expires_at=expires_at, hold=holds[0], offered_by=staff_user
    )
    offer.more_holds.set(holds[1:])
    offer.sms = queue_message(
        to_number=phone,
        body=texts.offer(opening=opening, services=entry.visit_services(), client=client),
        location=opening.location,
        client=client,
        kind=MessageKind.WAITLIST_OFFER,
        dedupe_key=f"waitlist-offer-{offer.pk}",
        now=now,
        send_before=expires_at,  # "reply within 15 minutes" is never sent late
    )
    offer.save(update_fields=["sms"])
    return offer


def offer_by_hand(*, entry_id: int, practitioner_id: int, start: datetime, staff_user: "User") -> WaitlistOffer:
    """The front desk offers a time to one waitlist entry, under the same rules as the waitlist's own offers."""
    now = timezone.now()
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_related("client", "service", "location").get(pk=entry_id)
        if entry.status != EntryStatus.WAITING:
            raise WaitlistRefused("This entry is no longer waiting.")
        if not quiet_hours.is_allowed(now, entry.location.tzinfo):
            raise WaitlistRefused("Offers go out only during texting hours; try again when they open.")
        if entry.offers.filter(status=OfferStatus.PENDING).exists() or _offer_waiting(number_on_file(entry.client)):
            raise WaitlistRefused("This person's number already has an offer waiting for a reply.")
        for service in entry.visit_services():
            if takes_a_payment(location=entry.location, service=service):
                raise WaitlistRefused(_payment_refusal(service))
        opening = Opening.objects.create(
            location=entry.location,
            practitioner_id=practitioner_id,
            start=start,
            end=start + entry.service.duration,  # the first service's: its start is what is offered
        )
        offer = _offer_to(opening=opening, entry=entry, now=now, staff_user=staff_user, exact=True)
        if offer is None:
            permission = may_contact(client=entry.client, purpose=Purpose.WAITLIST_OFFER)
            if not permission:
                raise WaitlistRefused(f"This person cannot be texted an offer: {permission.reason}")
            raise WaitlistRefused(
                "That time cannot be offered: it is not free for this service and practitioner, "
                "or the number has had its offers for today (one a day until it has texted us)."
            )
        return offer


def _release_holds(offer: WaitlistOffer) -> None:
    for hold_id in [offer.hold_id, *offer.more_holds.values_list("pk", flat=True)]:
        release_hold(hold_id=hold_id)


def _close_offer(offer: WaitlistOffer, status: str, now: datetime) -> None:
    _release_holds(offer)
    offer.status = status
    offer.answered_at = now
    offer.hold = None
    offer.save(update_fields=["status", "answered_at", "hold"])
    opening_id = offer.opening_id
    transaction.on_commit(lambda: _queue_offer(opening_id))  # move to the next person


def expire_offers(*, now: datetime | None = None) -> int:
    """Periodic: offers past their time expire and move on; open times get another try. Returns how many expired."""
    now = now or timezone.now()
    expired = 0
    for offer_id in WaitlistOffer.objects.filter(status=OfferStatus.PENDING, expires_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            offer = WaitlistOffer.objects.select_for_update().filter(pk=offer_id, status=OfferStatus.PENDING).first()
            if offer is not None and offer.expires_at <= now:
                _close_offer(offer, OfferStatus.EXPIRED, now)
                expired += 1
    for opening_id in Opening.objects.filter(status=OpeningStatus.OPEN).values_list("pk", flat=True):
        offer_opening(opening_id=opening_id, now=now)
    return expired


def _latest_offer(phone: str, now: datetime) -> WaitlistOffer | None:
    """The newest offer texted to this number in the last day (the one a YES or NO answers).

    Texted to this number and still the record's number: a number the record moved to never
    got the offer, and one it moved away from is no longer the person's.
    """
    return (
        WaitlistOffer.objects.select_for_update(of=("self",))
        .filter(entry__client__mobile_phone=phone, sms__to_number=phone, created_at__gt=now - timedelta(days=1))
        .select_related("opening__location", "entry__client", "entry__service", "entry__location")
        .order_by("-created_at", "-pk")
        .first()
    )


def accept_offer(*, phone: str, now: datetime | None = None) -> str | None:
    """A YES from `phone`: book the offered time if the offer still stands. Returns the reply, or None (no offer)."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = _latest_offer(phone, now)
        if offer is None:
            return None
        if offer.status == OfferStatus.ACCEPTED:
            return texts.already_booked(offer)
        opening = Opening.objects.select_for_update().get(pk=offer.opening_id)
        if offer.status == OfferStatus.PENDING and offer.entry.status != EntryStatus.WAITING:
            # Taken off the waitlist (by the front desk) while the offer waited: nothing is booked;
            # the time moves on and the YES waits in the front desk's inbox.
            _close_offer(offer, OfferStatus.EXPIRED, now)
            return None
        if offer.status != OfferStatus.PENDING or offer.expires_at <= now or opening.status != OpeningStatus.OPEN:
            return texts.taken(offer, next_time=_next_free_time(offer.entry))
        entry = offer.entry
        if any(takes_a_payment(location=opening.location, service=each) for each in entry.visit_services()):
            # The clinic began asking a deposit or a card while the offer waited: never booked unpaid.
            _close_offer(offer, OfferStatus.EXPIRED, now)
            return texts.book_online(offer)
        try:
            booked = _book_offered(offer, opening)
        except (SlotUnavailable, BookingRefused):
            # Taken meanwhile behind the hold's back (holds keep it from every booking path): nothing to take.
            _close_offer(offer, OfferStatus.EXPIRED, now)
            opening.status = OpeningStatus.LAPSED
            opening.save(update_fields=["status"])
            return texts.taken(offer, next_time=_next_free_time(entry))
        appointment = booked[0]
        offer.status = OfferStatus.ACCEPTED
        offer.answered_at = now
        offer.appointment = appointment
        offer.hold = None
        offer.save(update_fields=["status", "answered_at", "appointment", "hold"])
        offer.more_holds.clear()
        opening.status = OpeningStatus.FILLED
        opening.save(update_fields=["status"])
        # The opening's practitioner's time around what they now do (a visit's parts may all be theirs, or only
        # a later one) stays on offer: before their first part, and after their last.
        theirs = [a for a in booked if a.practitioner_id == opening.practitioner_id]
        if theirs and min(a.start for a in theirs) > opening.start:
            record_freed_time(
                location_id=opening.location_id,
                practitioner_id=opening.practitioner_id,
                start=opening.start,
                end=min(min(a.start for a in theirs), opening.end),
            )
        if theirs:
            _record_rest(opening, max(a.end for a in theirs))
        entry.status = EntryStatus.BOOKED
        entry.appointment = appointment
        entry.save(update_fields=["status", "appointment"])
        return texts.booked(offer)


def _book_offered(offer: WaitlistOffer, opening: Opening) -> "list[Appointment]":
    """Book what the offer held (its one service, or its whole visit) on the waitlist's record for the person,
    taking the offer's holds; SlotUnavailable (or BookingRefused) when it cannot, and then nothing is booked."""
    entry = offer.entry
    client = entry.client
    details = ClientDetails(
        first_name=client.first_name,
        last_name=client.last_name,
        email=client.email,
        mobile_phone=client.mobile_phone,
    )
    # Accepted when joining (recorded in the ledger then); the booking records nothing again.
    consents = BookingConsents(privacy_policy=True)
    more_holds = list(offer.more_holds.order_by("start", "pk"))
    services = entry.visit_services()
    if len(services) == 1:
        return [
            book_appointment(
                location=opening.location,
                service=entry.service,
                start=opening.start,
                practitioner_id=opening.practitioner_id,
                details=details,
                consents=consents,
                hold_id=offer.hold_id,
                client=client,
            )
        ]
    if offer.hold is None or len(more_holds) != len(services) - 1:
        raise SlotUnavailable("The visit's held times lapsed.")
    holds = [offer.hold, *more_holds]
    return book_visit(
        location=opening.location,
        service_ids=[service.pk for service in services],
        start=opening.start,
        practitioner_ids=[hold.practitioner_id for hold in holds],
        details=details,
        consents=consents,
        signed_in=client,
        hold_ids=[hold.pk for hold in holds],
    )


def decline_offer(*, phone: str, now: datetime | None = None) -> str | None:
    """A NO from `phone`: the pending offer goes to the next person. None when there is nothing to decline."""
    now = now or timezone.now()
    with transaction.atomic():
        offer = _latest_offer(phone, now)
        if offer is None or offer.status != OfferStatus.PENDING:
            return None
        _close_offer(offer, OfferStatus.DECLINED, now)
        return texts.declined(offer)


def _next_free_time(entry: WaitlistEntry) -> datetime | None:
    """The first free time in the entry's range (for the "taken" reply; a whole visit's first start), or None."""
    tz = entry.location.tzinfo
    today = timezone.now().astimezone(tz).date()
    services = entry.visit_services()
    if len(services) > 1:
        visits = find_visit_slots(
            location=entry.location,
            services=services,
            start_date=max(entry.earliest_date, today),
            end_date=entry.latest_date,
            practitioner_ids=[entry.practitioner_id, *([None] * (len(services) - 1))],
        )
        return visits[0].start if visits else None
    slots = find_free_slots(
        location=entry.location,
        service=entry.service,
        start_date=max(entry.earliest_date, today),
        end_date=entry.latest_date,
        practitioner_id=entry.practitioner_id,
    )
    return slots[0].start if slots else None


def withdraw_offers_to_number(*, phone: str, now: datetime | None = None) -> int:
    """The number opted out (STOP): its waiting offers are withdrawn and their times move to the next person.

    The entries stay (a START later lets offers come again); returns how many offers were withdrawn.
    """
    now = now or timezone.now()
    withdrawn = 0
    with transaction.atomic():
        for offer in WaitlistOffer.objects.select_for_update(of=("self",)).filter(
            Q(entry__client__mobile_phone=phone) | Q(sms__to_number=phone), status=OfferStatus.PENDING
        ):
            _close_offer(offer, OfferStatus.WITHDRAWN, now)
            withdrawn += 1
    return withdrawn


def withdraw_entries(*, client_ids: list[int]) -> int:
    """Erasure: the person's entries stop waiting and their live offers give the time back."""
    now = timezone.now()
    with transaction.atomic():
        for offer in WaitlistOffer.objects.select_for_update().filter(
            entry__client_id__in=client_ids, status=OfferStatus.PENDING
        ):
            _close_offer(offer, OfferStatus.DECLINED, now)
        return WaitlistEntry.objects.filter(client_id__in=client_ids, status=EntryStatus.WAITING).update(
            status=EntryStatus.WITHDRAWN
        )
