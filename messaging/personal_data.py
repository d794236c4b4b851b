"""The messaging app's personal data: a client's text messages."""

import re

from django.db.models import Q

from clinic.hashing import contact_hash
from clinic.models import Client
from privacy.models import ConsentActor

from . import opt_outs
from .models import CampaignEmail, Direction, EmailOptOut, OptOutEvent, OptOutSource, SmsMessage, SmsOptOut
from .redaction import body_for_staff


def export_messages(client_ids):
    rows = SmsMessage.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
    return {
        "messages": [
            {
                "direction": m.direction,
                "from": m.from_number,
                "to": m.to_number,
                "body": body_for_staff(kind=m.kind, body=m.body),  # a one-time code stays masked
                "kind": m.kind,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in rows
        ],
        **export_marketing_emails(client_ids),
        **export_opt_outs(client_ids),
    }


def export_marketing_emails(client_ids):
    rows = (
        CampaignEmail.objects.filter(client_id__in=client_ids).select_related("campaign").order_by("created_at", "id")
    )
    return {
        "marketing_emails": [
            {
                "campaign": e.campaign.name,
                "subject": e.campaign.subject,
                "to": e.to_email,
                "status": e.status,
                "created_at": e.created_at.isoformat(),
                "sent_at": e.sent_at.isoformat() if e.sent_at else None,
            }
            for e in rows
        ]
    }


def export_opt_outs(client_ids):
    """The opt-out list entries for the person's phone and email (the lists are keyed by hash, not by client)."""
    clients = list(Client.objects.filter(pk__in=client_ids).only("email", "mobile_phone"))
    phones = {str(c.mobile_phone): contact_hash(str(c.mobile_phone)) for c in clients if c.mobile_phone}
    emails = {c.email: contact_hash(c.email) for c in clients if c.email}
    sms = SmsOptOut.objects.filter(phone_hash__in=phones.values()).order_by("created_at")
    mail = EmailOptOut.objects.filter(email_hash__in=emails.values()).order_by("created_at")
    by_hash = {h: v for v, h in {**phones, **emails}.items()}
    # Every add and lift, even of an entry since lifted (a STOP later undone by START): it is about the person.
    history = OptOutEvent.objects.filter(contact_hash__in=by_hash).order_by("created_at", "id")
    return {
        "opt_out_history": [
            {
                "channel": e.channel,
                "contact": by_hash[e.contact_hash],
                "action": e.action,
                "reason": e.reason,
                "source": e.source,
                "created_at": e.created_at.isoformat(),
            }
            for e in history
        ],
        "opt_outs": [
            {
                "channel": "sms",
                "contact": by_hash[o.phone_hash],
                "reason": o.reason,
                "created_at": o.created_at.isoformat(),
            }
            for o in sms
        ]
        + [
            {
                "channel": "email",
                "contact": by_hash[o.email_hash],
                "reason": o.reason,
                "created_at": o.created_at.isoformat(),
            }
            for o in mail
        ],
    }


def erase_messages(client_ids):
    """Wipe message contents and the person's numbers; keep their opt-outs as keyed hashes only."""
    clients = list(Client.objects.filter(pk__in=client_ids))
    phones = {str(c.mobile_phone) for c in clients if c.mobile_phone}
    emails = {c.email for c in clients if c.email}
    for phone in phones:
        opt_outs.add_sms_opt_out(
            phone=phone,
            reason="Erased on request: kept as a hash so texts stay stopped",
            source=OptOutSource.ERASURE,
            actor=ConsentActor.SYSTEM,
            withdraw_consents=False,
            keep_number=False,
        )
    for email in emails:
        opt_outs.add_email_opt_out(
            email=email,
            reason="Erased on request: kept as a hash so emails stay stopped",
            source=OptOutSource.ERASURE,
            actor=ConsentActor.SYSTEM,
            keep_address=False,
        )
    # Numbers and addresses the person had before a correction live on in their own texts and emails: those
    # lose their clear text too (their opt-outs stay, by hash; no new one is added, the number may be another's now).
    own = SmsMessage.objects.filter(client_id__in=client_ids)
    past_phones = set(own.filter(direction=Direction.OUTBOUND).values_list("to_number", flat=True))
    past_phones |= set(own.filter(direction=Direction.INBOUND).values_list("from_number", flat=True))
    past_phones -= phones | {""}
    emails |= set(CampaignEmail.objects.filter(client_id__in=client_ids).values_list("to_email", flat=True)) - {""}
    cleared = own.filter(to_number__in=past_phones).update(to_number="")  # others' texts to that number are theirs
    cleared += own.filter(from_number__in=past_phones).update(from_number="")
    hashes = [contact_hash(p) for p in phones | past_phones]
    changed = cleared + SmsOptOut.objects.filter(phone_hash__in=hashes).exclude(phone="").update(phone="", evidence="")
    # The history of their opt-outs keeps only the hash, the action, the source and when.
    changed += (
        OptOutEvent.objects.filter(contact_hash__in=hashes + [contact_hash(e) for e in emails])
        .exclude(evidence="")
        .update(evidence="")
    )
    changed += (
        EmailOptOut.objects.filter(email_hash__in=[contact_hash(e) for e in emails]).exclude(email="").update(email="")
    )
    theirs = SmsMessage.objects.filter(
        Q(client_id__in=client_ids) | Q(to_number__in=phones) | Q(from_number__in=phones)
    )
    # The provider's error text can quote the number; the status itself stays.
    changed += theirs.update(body="[erased]", status_reason="")
    changed += SmsMessage.objects.filter(to_number__in=phones).update(to_number="")
    changed += SmsMessage.objects.filter(from_number__in=phones).update(from_number="")
    changed += CampaignEmail.objects.filter(Q(client_id__in=client_ids) | Q(to_email__in=emails)).update(
        to_email="", status_reason=""
    )
    return changed


def propagate_correction(sender, *, client, old, changed, **kwargs):
    """A corrected number or address moves what is queued for the person; a corrected name reaches queued texts.

    Texts still queued for the old number go to the corrected one (send time
    re-checks consent and the opt-out list of the new number); with the number
    removed they are not sent. The opt-out list stays keyed by the number: the
    old number stays stopped, the new one is not stopped by the person's past STOP.
    """
    from .delivery import move_where
    from .models import Direction, MessageStatus

    queued = SmsMessage.objects.filter(client=client, direction=Direction.OUTBOUND, status=MessageStatus.QUEUED)
    if "mobile_phone" in changed and old["mobile_phone"]:
        old_phone = str(old["mobile_phone"])
        to_old = queued.filter(to_number=old_phone)
        if client.mobile_phone:
            to_old.update(to_number=str(client.mobile_phone))
        else:
            move_where(to_old, MessageStatus.SKIPPED, status_reason="Number removed by a correction")
    if "first_name" in changed and old["first_name"] and old["first_name"] != client.first_name:
        pattern = re.compile(rf"\b{re.escape(old['first_name'])}\b")
        for message in queued.only("pk", "body"):
            body = pattern.sub(client.first_name, message.body)
            if body != message.body:
                SmsMessage.objects.filter(pk=message.pk, status=MessageStatus.QUEUED).update(body=body)
    if "email" in changed:
        emails = CampaignEmail.objects.filter(client=client, status=MessageStatus.QUEUED)
        if client.email:
            emails.update(to_email=client.email)
        else:
            emails.update(status=MessageStatus.SKIPPED, status_reason="Address removed by a correction")
