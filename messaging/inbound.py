"""Texts from clients: STOP, START, HELP, the keywords apps register (C to confirm and JOIN for offers, here;
the waitlist's YES and NO), and everything else for the front desk."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation

from appointments.models import Appointment, AppointmentStatus
from appointments.services import AppointmentStatusError, confirm_appointment
from clinic import identity
from clinic.errors import BusinessRuleError
from clinic.languages import client_language, language_of
from clinic.models import Client, Location
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.selectors import current_consents
from privacy.services import record_consent

from . import opt_outs, selectors, texts
from .keywords import OPT_OUT_WORDS, Keyword, classify, normalise, registered_handler, spanish_keyword
from .models import Direction, MessageKind, MessageStatus, OptOutSource, SmsMessage
from .permissions import Purpose, may_contact, may_contact_many

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundText:
    """What an app's keyword handler is told about a text (messaging.keywords.register_keyword)."""

    message_sid: str
    phone: str  # the sender's number, as Twilio gave it (E.164)
    clients: list  # every record holding the number, newest first: the handler decides which it acts for
    location: Location | None
    now: object  # aware datetime
    to_number: str = ""  # the clinic number it was texted to


@dataclass
class InboundResult:
    keyword: Keyword
    reply: str = ""  # empty: no reply is due
    duplicate: bool = False


def _sender_clients(phone):
    return list(Client.objects.filter(mobile_phone=phone).order_by("-updated_at", "-pk"))


def _next_appointment(clients, now, *, texted_to=None):
    visits = Appointment.objects.filter(
        client__in=clients, start__gt=now, status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
    )
    if texted_to:
        # A visit at a location that texts from another number of its own was not what this text answers.
        visits = visits.filter(
            Q(location__sms_from_number=texted_to)
            | Q(location__sms_from_number="")
            | Q(location__sms_from_number__isnull=True)
        )
    return visits.select_related("location", "service", "client").order_by("start").first()


def _location_for(to_number, clients, upcoming):
    return (
        Location.objects.filter(sms_from_number=to_number).first()
        or (upcoming.location if upcoming else None)
        or next((c.preferred_location for c in clients if c.preferred_location_id), None)
        or Location.objects.filter(is_active=True).first()
    )


def handle_inbound_sms(*, message_sid, from_number, to_number, body, now=None, over_limit=False):
    """Store an inbound text once and act on it. Returns the reply to send back, if any.

    over_limit: the sender is over its rate limit. The text is still stored and
    an opt-out is still applied (a STOP is never lost), but nothing else is
    acted on and nothing is replied; other texts wait in the inbox.
    """
    now = now or timezone.now()
    keyword = classify(body)
    app_keyword = registered_handler(body) if keyword == Keyword.NONE else None
    with transaction.atomic():
        if SmsMessage.objects.filter(twilio_sid=message_sid).exists():
            return InboundResult(keyword, duplicate=True)  # Twilio retried: handled already
        clients = _sender_clients(from_number)
        # Filed under the record the number is proven for, else the oldest: a later record may be a
        # booking anyone made by typing this number (clinic.identity: a typed phone is not proof).
        sender = identity.phone_on_file(clients)
        upcoming = _next_appointment([sender] if sender else [], now)
        location = _location_for(to_number, clients, upcoming)
        try:
            with transaction.atomic():
                inbound = SmsMessage.objects.create(
                    direction=Direction.INBOUND,
                    from_number=from_number,
                    to_number=to_number,
                    body=body,
                    location=location,
                    client=sender,
                    appointment=upcoming,
                    kind=MessageKind.OTHER,
                    status=MessageStatus.RECEIVED,
                    twilio_sid=message_sid,
                    keyword=app_keyword.name if app_keyword else keyword.value,
                    # Keyword texts are handled here; only the rest waits in the inbox.
                    read_at=None
                    if (keyword == Keyword.NONE and not app_keyword) or (over_limit and keyword != Keyword.OPT_OUT)
                    else now,
                    status_updated_at=now,
                )
        except IntegrityError:
            return InboundResult(keyword, duplicate=True)
        transaction.on_commit(selectors.inbox_changed)  # the admin menu's unread count

        suppressed_before = opt_outs.is_sms_opted_out(from_number)
        with translation.override(_reply_language(body, sender)):
            reply = _act(
                body=body,
                keyword=keyword,
                app_keyword=app_keyword,
                inbound=inbound,
                suppressed_before=suppressed_before,
                over_limit=over_limit,
                message_sid=message_sid,
                from_number=from_number,
                to_number=to_number,
                clients=clients,
                location=location,
                now=now,
            )
        if reply is None:
            return InboundResult(keyword)  # stored for the front desk; nothing else done for a runaway sender
        if keyword in (Keyword.OPT_OUT, Keyword.OPT_IN, Keyword.HELP) and settings.TWILIO_ADVANCED_OPT_OUT:
            reply = ""  # Twilio has already answered these
        if reply:
            SmsMessage.objects.create(
                direction=Direction.OUTBOUND,
                from_number=to_number,
                to_number=from_number,
                body=reply,
                location=location,
                client=inbound.client,
                appointment=upcoming,
                kind=MessageKind.KEYWORD_REPLY,
                status=MessageStatus.SENT,
                status_reason="Sent as the TwiML reply to the inbound text.",
                in_reply_to=inbound,
                sent_at=now,
                status_updated_at=now,
            )
    return InboundResult(keyword, reply=reply)


def _reply_language(body, sender):
    """A Spanish keyword (ALTO, AYUDA, SI...) is answered in Spanish; anything else in the sender's language."""
    return "es" if spanish_keyword(body) else language_of(sender)


def _act(
    *,
    body,
    keyword,
    app_keyword,
    inbound,
    suppressed_before,
    over_limit,
    message_sid,
    from_number,
    to_number,
    clients,
    location,
    now,
):
    """Act on the stored text; the reply to send ("" for none), or None for a runaway sender's text."""
    reply = ""
    if keyword == Keyword.OPT_OUT:
        opt_outs.add_sms_opt_out(
            phone=from_number,
            # The keyword, never the person's own words (they may hold a name and outlive erasure).
            reason=f"Replied {_opt_out_word(body)} by SMS",
            source=OptOutSource.SMS_KEYWORD,
            actor=ConsentActor.CLIENT,
            evidence=message_sid,
        )
        # The single message a suppressed number may receive.
        reply = "" if suppressed_before else texts.opt_out_confirmation(normalise(body) == "CANCEL", location)
    elif over_limit:
        return None
    elif keyword == Keyword.OPT_IN:
        _opt_in(phone=from_number, clients=clients, evidence=message_sid)
        reply = texts.opt_in_confirmation()
    elif app_keyword is not None:
        # An app's keyword (C, JOIN, the waitlist's YES): never for a STOP'd number (only START lifts a STOP).
        answer = None
        if not suppressed_before:
            answer = app_keyword.handle(
                InboundText(
                    message_sid=message_sid,
                    phone=from_number,
                    clients=clients,
                    location=location,
                    now=now,
                    to_number=to_number,
                )
            )
        if answer is None:  # not for the app after all (or from a STOP'd number): the front desk reads it
            inbound.read_at = None
            inbound.save(update_fields=["read_at"])
        reply = answer if answer and may_contact(purpose=Purpose.REPLY, to=from_number) else ""
    elif keyword == Keyword.HELP and may_contact(purpose=Purpose.REPLY, to=from_number):
        reply = texts.help_reply(location)
    # else: nothing else ever goes to an opted-out number (HELP from it is stored, unanswered)
    return reply


def _opt_out_word(body):
    text = normalise(body)
    return repr(text) if text in OPT_OUT_WORDS else "with a request to stop texts, in their own words"


def _opt_in(*, phone, clients, evidence):
    # The phone's own START: the one way (besides staff on the person's behalf) a STOP is lifted.
    opt_outs.lift_sms_opt_out(
        phone=phone,
        reason="Texted START from the number",
        source=OptOutSource.SMS_KEYWORD,
        actor=ConsentActor.CLIENT,
        evidence=evidence,
    )
    for client in clients:
        record_consent(
            client=client,
            purpose=ConsentPurpose.SMS_REMINDERS,
            granted=True,
            notice_text=texts.opt_in_confirmation(),
            source=ConsentSource.SMS_KEYWORD,
            actor=ConsentActor.CLIENT,
            evidence=evidence,
        )


def _join(*, phone, clients, evidence, location, now):
    """JOIN from the number: its owner confirms the SMS marketing opt-in ticked on the records holding it.

    Only records whose latest SMS marketing choice is an opt-in not yet confirmed: a
    record that never asked, or withdrew, gets no marketing from a JOIN.
    """
    asking = current_consents(client_ids=[c.pk for c in clients], purpose=ConsentPurpose.SMS_MARKETING)
    waiting = [c for c in clients if asking.get(c.pk) and c.phone_verified_at is None and c.erased_at is None]
    if not waiting:
        signed_up = any(asking.get(c.pk) and c.phone_verified_at is not None for c in clients)
        return texts.join_confirmation() if signed_up else texts.join_nothing_pending(location)
    # A text from the number proves control of it, for these records.
    identity.mark_phone_verified(client_ids=[c.pk for c in waiting], phone=phone, now=now)
    for client in waiting:
        with client_language(client):  # the invitation as it was texted to them, in their language
            record_consent(
                client=client,
                purpose=ConsentPurpose.SMS_MARKETING,
                granted=True,
                notice_text=texts.join_invitation(),
                source=ConsentSource.SMS_KEYWORD,
                actor=ConsentActor.CLIENT,
                evidence=evidence,
            )
    return texts.join_confirmation()


def answer_confirm(text):
    """C (registered in messaging.apps): confirm the sender's next visit booked with texts to this number.

    Nothing is confirmed for a number no reply may go to (stored and marked handled, as HELP is).
    """
    if not may_contact(purpose=Purpose.REPLY, to=text.phone):
        return ""
    return _confirm_next(_texted_visit(text.clients, text.now, text.to_number), text.location)


def answer_join(text):
    """JOIN (registered in messaging.apps): the number's owner confirms an SMS marketing opt-in."""
    return _join(
        phone=text.phone, clients=text.clients, evidence=text.message_sid, location=text.location, now=text.now
    )


def _texted_visit(clients, now, to_number):
    """The next visit of a record whose booking texts go to this number: C answers those texts.

    Not any record holding the number: one may be a stranger's booking that typed
    it and asked for no texts, whose visit must be neither confirmed nor told here.
    """
    permitted = may_contact_many(clients=clients, purpose=Purpose.TRANSACTIONAL)
    return _next_appointment([c for c in clients if permitted[c.pk]], now, texted_to=to_number)


def _confirm_next(upcoming, location):
    if upcoming is None:
        return texts.nothing_to_confirm(location)
    try:
        confirm_appointment(appointment_id=upcoming.pk)
    except AppointmentStatusError:
        # Cancelled or checked in since it was looked up: there is nothing left to confirm.
        return texts.nothing_to_confirm(location)
    return texts.confirmed(upcoming)


class ReplyRefused(BusinessRuleError):
    """The front desk's reply cannot go (the message says why)."""


def mark_read(*, message_ids, now=None):
    marked = SmsMessage.objects.filter(pk__in=message_ids, direction=Direction.INBOUND, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    if marked:
        transaction.on_commit(selectors.inbox_changed)
    return marked


def send_staff_reply(*, inbound_id, body, staff_user, now=None):
    """Queue the front desk's answer to an inbound text, under the same rules as every text."""
    from .outbox import queue_message

    now = now or timezone.now()
    body = (body or "").strip()
    if not body:
        raise ReplyRefused("Write a reply first.")
    with transaction.atomic():
        inbound = SmsMessage.objects.select_for_update().get(pk=inbound_id, direction=Direction.INBOUND)
        permission = may_contact(purpose=Purpose.REPLY, to=inbound.from_number)
        if not permission:
            if opt_outs.is_sms_opted_out(inbound.from_number):
                raise ReplyRefused("This number has opted out (STOP); no text can be sent to it.")
            raise ReplyRefused(f"No text can be sent to this number: {permission.reason}")
        if inbound.read_at is None:
            inbound.read_at = now
            inbound.save(update_fields=["read_at"])
            transaction.on_commit(selectors.inbox_changed)
        return queue_message(
            to_number=inbound.from_number,
            body=body,
            location=inbound.location,
            client=inbound.client,
            kind=MessageKind.OTHER,
            in_reply_to=inbound,
            sent_by=staff_user,
            now=now,
        )
