"""Marketing campaigns by SMS and email, and one-click email unsubscribe.

The audience is every client messaging.permissions allows for the channel's
marketing purpose: current consent confirmed by the owner of the number or
address (double opt-in: a proven phone or JOIN, a proven email), not opted out, not restricted (an
objection to direct marketing withdraws the consent in the ledger, so objectors
drop out too), and under the frequency cap the opt-in wording promises
(MARKETING_MAX_PER_30_DAYS; those over it are counted and reported). Each recipient gets a row
under a unique constraint, so a campaign never reaches anyone twice, even when
a start is retried or a worker dies half-way.
"""

import logging
import smtplib

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic.hashing import contact_hash
from clinic.models import Client
from clinic.plain_text import render_plain_text
from clinic.queueing import enqueue
from privacy.links import preferences_url
from privacy.models import ConsentActor, ConsentPurpose, ConsentSource
from privacy.services import record_consent

from . import opt_outs, quiet_hours
from .models import (
    Campaign,
    CampaignEmail,
    CampaignStatus,
    Channel,
    MessageKind,
    MessageStatus,
    OptOutSource,
    SmsMessage,
)
from .permissions import EMAIL_UNCONFIRMED, OVER_CAP, PHONE_UNCONFIRMED, Purpose, may_contact, may_contact_many
from .texts import OPT_OUT_LINE

logger = logging.getLogger(__name__)

PURPOSE = {Channel.SMS: Purpose.SMS_MARKETING, Channel.EMAIL: Purpose.EMAIL_MARKETING}
UNSUBSCRIBE_SALT = "messaging.email-unsubscribe"


# --- Audience ---------------------------------------------------------------


class Audience(list):
    """The clients a campaign reaches (a list), and how many the frequency cap leaves out."""

    def __init__(self, clients=(), *, over_cap: int = 0, unconfirmed: int = 0):
        super().__init__(clients)
        self.over_cap = over_cap
        # Opted in on a form, not yet confirmed by the owner (JOIN, the emailed link): left out.
        self.unconfirmed = unconfirmed

    @property
    def clients(self):
        return list(self)


def campaign_audience(*, channel, location=None, client_ids=None, now=None, exclude_campaign_id=None) -> Audience:
    """The clients a campaign on `channel` reaches now, and how many the cap leaves out: a fixed number of queries."""
    clients = Client.objects.all()
    if client_ids is not None:
        clients = clients.filter(pk__in=client_ids)
    if channel == Channel.SMS:
        clients = clients.exclude(mobile_phone="")
    else:
        clients = clients.exclude(email="")
    if location is not None:
        clients = clients.filter(Q(preferred_location=location) | Q(appointments__location=location)).distinct()
    candidates = list(
        clients.only(
            "pk",
            "email",
            "mobile_phone",
            "first_name",
            "preferred_location_id",
            "processing_restricted",
            "mobile_phone_problem",
            "erased_at",
            # Double opt-in: marketing needs the number or address proven (or confirmed by JOIN / link).
            "phone_verified_at",
            "email_verified_at",
        ).order_by("pk")
    )
    verdicts = may_contact_many(
        clients=candidates, purpose=PURPOSE[channel], now=now, exclude_campaign_id=exclude_campaign_id
    )
    # One send per number or address (the cap is theirs, and each online booking is a new record
    # holding them): the oldest permitted record is the one written to.
    reached, audience = set(), []
    for client in candidates:
        contact = str(client.mobile_phone) if channel == Channel.SMS else client.email.lower()
        if verdicts[client.pk] and contact not in reached:
            reached.add(contact)
            audience.append(client)
    reasons = [verdicts[c.pk].reason for c in candidates]
    return Audience(
        audience,
        over_cap=reasons.count(OVER_CAP),
        unconfirmed=sum(1 for r in reasons if r in (PHONE_UNCONFIRMED, EMAIL_UNCONFIRMED)),
    )


def sms_marketing_body(campaign):
    body = campaign.body.strip()
    return body if body.endswith(OPT_OUT_LINE) else f"{body} {OPT_OUT_LINE}"


# --- Starting campaigns ------------------------------------------------------


def schedule_campaign(*, campaign_id):
    return Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.DRAFT).update(status=CampaignStatus.SCHEDULED)


def cancel_campaign(*, campaign_id):
    return Campaign.objects.filter(pk=campaign_id, status__in=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)).update(
        status=CampaignStatus.CANCELLED
    )


def start_due_campaigns(*, now=None):
    """Start every scheduled campaign whose time has come. Safe to run twice or concurrently."""
    now = now or timezone.now()
    started = []
    for campaign_id in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, send_at__lte=now).values_list(
        "pk", flat=True
    ):
        if start_campaign(campaign_id=campaign_id, now=now):
            started.append(campaign_id)
    return started


def start_campaign(*, campaign_id, now=None):
    """Write one row per recipient (at most one ever) and hand the due ones to workers."""
    from .outbox import enqueue_due_messages

    now = now or timezone.now()
    with transaction.atomic():
        _one_start_at_a_time()
        campaign = (
            Campaign.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("location")
            .filter(pk=campaign_id, status__in=(CampaignStatus.SCHEDULED, CampaignStatus.SENDING))
            .first()
        )
        if campaign is None:
            return False
        audience = campaign_audience(
            channel=campaign.channel, location=campaign.location, now=now, exclude_campaign_id=campaign.pk
        )
        if campaign.channel == Channel.SMS:
            _write_sms_rows(campaign, audience, now)
        else:
            CampaignEmail.objects.bulk_create(
                [CampaignEmail(campaign=campaign, client=c, to_email=c.email) for c in audience],
                batch_size=500,
                ignore_conflicts=True,
            )
        campaign.status = CampaignStatus.SENT
        campaign.audience_size = len(audience)
        campaign.skipped_over_cap = audience.over_cap
        campaign.started_at = campaign.started_at or now
        campaign.save(update_fields=["status", "audience_size", "skipped_over_cap", "started_at"])
    if campaign.channel == Channel.SMS:
        enqueue_due_messages(now=now)
    else:
        _enqueue_emails(campaign.pk)
    return True


# Any fixed number: the key of the PostgreSQL advisory lock that campaign starts take in turn.
CAMPAIGN_START_LOCK = 7_310_414


def _one_start_at_a_time():
    """Two campaigns starting at once would each miss the other's new sends when counting the frequency cap.

    PostgreSQL: a transaction-level advisory lock (released at commit). SQLite
    already runs one writing transaction at a time.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CAMPAIGN_START_LOCK])


def _write_sms_rows(campaign, audience, now):
    from clinic.models import Location

    default_location = campaign.location
    locations = {loc.pk: loc for loc in Location.objects.all()} if default_location is None else {}
    body = sms_marketing_body(campaign)
    rows = []
    for client in audience:
        location = (
            default_location or locations.get(client.preferred_location_id) or next(iter(locations.values()), None)
        )
        tz = location.tzinfo if location else timezone.get_current_timezone()
        rows.append(
            SmsMessage(
                to_number=str(client.mobile_phone),
                from_number=str(location.sms_from_number or "") if location else "",
                body=body,
                location=location,
                client=client,
                kind=MessageKind.MARKETING,
                campaign=campaign,
                dedupe_key=f"campaign:{campaign.pk}:{client.pk}",
                send_after=quiet_hours.next_allowed_at_or_after(now, tz),
            )
        )
    SmsMessage.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)


def _enqueue_emails(campaign_id):
    from .tasks import send_campaign_emails

    ids = list(
        CampaignEmail.objects.filter(campaign_id=campaign_id, status=MessageStatus.QUEUED).values_list("pk", flat=True)
    )
    for i in range(0, len(ids), 50):
        transaction.on_commit(lambda chunk=ids[i : i + 50]: enqueue(send_campaign_emails, chunk))


# --- Sending marketing email -------------------------------------------------


def unsubscribe_token(client):
    return signing.dumps({"c": client.pk, "e": contact_hash(client.email)}, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(client):
    return settings.SITE_URL + reverse("messaging:unsubscribe", args=[unsubscribe_token(client)])


def deliver_campaign_email(*, email_id):
    """Send one marketing email if the client still consents; never twice."""
    with transaction.atomic():
        row = (
            CampaignEmail.objects.select_for_update(of=("self",))
            .select_related("campaign", "client")
            .filter(pk=email_id)
            .first()
        )
        if row is None or row.status != MessageStatus.QUEUED:
            return "noop"
        client = row.client
        # The cap was applied when the campaign chose its audience; this row is one of its sends.
        still_in = client is not None and may_contact(
            client=client, purpose=Purpose.EMAIL_MARKETING, to=row.to_email, check_cap=False
        )
        if not still_in or row.campaign.status == CampaignStatus.CANCELLED:
            row.status, row.status_reason = MessageStatus.SKIPPED, "No longer consents, unsubscribed or restricted."
            row.save(update_fields=["status", "status_reason"])
            return "skipped"
        # Committed before sending: a crash after this never sends it again.
        row.status = MessageStatus.SENDING
        row.save(update_fields=["status"])
    try:
        _marketing_email(row).send()
    except (OSError, smtplib.SMTPException) as exc:
        # The mail server did not take it: safe to try again.
        CampaignEmail.objects.filter(pk=row.pk).update(
            status=MessageStatus.QUEUED, status_reason=f"Retrying: {exc}"[:300]
        )
        raise
    CampaignEmail.objects.filter(pk=row.pk).update(status=MessageStatus.SENT, sent_at=timezone.now())
    return "sent"


def _marketing_email(row):
    url = unsubscribe_url(row.client)
    context = {
        "campaign": row.campaign,
        "client": row.client,
        "unsubscribe_url": url,
        "preferences_url": preferences_url(row.client),
        "clinic_name": settings.CLINIC_NAME,
    }
    message = EmailMultiAlternatives(
        # One line: a line break typed into the subject would stop every send (Django refuses it in a header).
        subject=" ".join((row.campaign.subject or row.campaign.name).split()),
        body=render_plain_text("messaging/email/marketing.txt", context),
        to=[row.to_email],
        headers={
            # RFC 8058 one-click unsubscribe: mail clients POST to this URL.
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string("messaging/email/marketing.html", context), "text/html")
    return message


def client_from_unsubscribe_token(token):
    """(client or None, the hash of the address the email went to, or None if the link is not ours).

    The address is what the link unsubscribes: it still works after its record
    was merged away (client None) or erased, so an opt-out is never lost.
    """
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        client_id, email_hash = int(data["c"]), str(data["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None, None
    # An erased record takes no new evidence (its address is already suppressed by hash).
    return Client.objects.filter(pk=client_id, erased_at__isnull=True).first(), email_hash


def unsubscribe_email(*, token, ip_address=None, user_agent=""):
    """Put the token's address on the opt-out list at once and withdraw its record's consent.

    Returns the client, or None.
    """
    client, email_hash = client_from_unsubscribe_token(token)
    if email_hash is None:
        return None
    with transaction.atomic():
        opt_outs.add_email_opt_out(
            email=client.email if client else "",
            email_hash=email_hash,
            reason="Unsubscribe link",
            source=OptOutSource.EMAIL_LINK,
            actor=ConsentActor.CLIENT,
            evidence="email unsubscribe link",
        )
        if client is None:
            return None  # merged away or erased: the address is listed, which wins over any record's consent
        record_consent(
            client=client,
            purpose=ConsentPurpose.EMAIL_MARKETING,
            granted=False,
            notice_text="Unsubscribe from marketing email (link in the email).",
            source=ConsentSource.PREFERENCE_CENTER,
            actor=ConsentActor.CLIENT,
            ip_address=ip_address,
            user_agent=user_agent,
            evidence="email unsubscribe link",
        )
    logger.info("Email marketing unsubscribe for client %s", client.pk)
    return client
