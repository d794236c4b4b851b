"""The messaging app's personal data: a client's text messages."""

from django.db.models import Q

from clinic.hashing import contact_hash
from clinic.models import Client

from .models import CampaignEmail, EmailOptOut, SmsMessage, SmsOptOut
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
        ]
    }


def erase_messages(client_ids):
    """Wipe message contents and the person's numbers; keep their opt-outs as keyed hashes only."""
    clients = list(Client.objects.filter(pk__in=client_ids))
    phones = {str(c.mobile_phone) for c in clients if c.mobile_phone}
    emails = {c.email for c in clients if c.email}
    for phone in phones:
        SmsOptOut.objects.get_or_create(
            phone_hash=contact_hash(phone), defaults={"reason": "Erased on request: kept as a hash so texts stay stopped"}
        )
    for email in emails:
        EmailOptOut.objects.get_or_create(
            email_hash=contact_hash(email), defaults={"reason": "Erased on request: kept as a hash so emails stay stopped"}
        )
    hashes = [contact_hash(p) for p in phones]
    changed = SmsOptOut.objects.filter(phone_hash__in=hashes).exclude(phone="").update(phone="", evidence="")
    changed += EmailOptOut.objects.filter(email_hash__in=[contact_hash(e) for e in emails]).exclude(email="").update(email="")
    theirs = SmsMessage.objects.filter(Q(client_id__in=client_ids) | Q(to_number__in=phones) | Q(from_number__in=phones))
    changed += theirs.update(body="[erased]")
    changed += SmsMessage.objects.filter(to_number__in=phones).update(to_number="")
    changed += SmsMessage.objects.filter(from_number__in=phones).update(from_number="")
    changed += CampaignEmail.objects.filter(Q(client_id__in=client_ids) | Q(to_email__in=emails)).update(to_email="")
    return changed
