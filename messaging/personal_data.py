"""The messaging app's personal data: a client's text messages."""

from django.db.models import Q

from clinic.hashing import contact_hash
from clinic.models import Client

from .models import CampaignEmail, EmailOptOut, SmsMessage, SmsOptOut


def export_messages(client_ids):
    rows = SmsMessage.objects.filter(client_id__in=client_ids).order_by("created_at", "id")
    return {
        "messages": [
            {
                "direction": m.direction,
                "from": m.from_number,
                "to": m.to_number,
                "body": m.body,
                "kind": m.kind,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in rows
        ]
    }


ERASED_SMS = "Erased on request: kept as a hash so texts stay stopped"
ERASED_EMAIL = "Erased on request: kept as a hash so emails stay stopped"


def erased_contact_hashes():
    """The keyed hashes of every erased number and address (a restore must not bring them back)."""
    sms = SmsOptOut.objects.filter(reason=ERASED_SMS).values_list("phone_hash", flat=True)
    email = EmailOptOut.objects.filter(reason=ERASED_EMAIL).values_list("email_hash", flat=True)
    return sorted({*sms, *email})


def erase_messages(client_ids):
    """Wipe message contents and the person's numbers; keep their opt-outs as keyed hashes only."""
    clients = list(Client.objects.filter(pk__in=client_ids))
    phones = {str(c.mobile_phone) for c in clients if c.mobile_phone}
    emails = {c.email for c in clients if c.email}
    hashes = [contact_hash(p) for p in phones]
    email_hashes = [contact_hash(e) for e in emails]
    for phone_hash in hashes:
        SmsOptOut.objects.get_or_create(phone_hash=phone_hash, defaults={"reason": ERASED_SMS})
    for email_hash in email_hashes:
        EmailOptOut.objects.get_or_create(email_hash=email_hash, defaults={"reason": ERASED_EMAIL})
    # An earlier opt-out is now also the erasure's tombstone (reapply_erasures reads it after a restore).
    changed = SmsOptOut.objects.filter(phone_hash__in=hashes).exclude(reason=ERASED_SMS).update(
        phone="", evidence="", reason=ERASED_SMS
    )
    changed += EmailOptOut.objects.filter(email_hash__in=email_hashes).exclude(reason=ERASED_EMAIL).update(
        email="", reason=ERASED_EMAIL
    )
    theirs = SmsMessage.objects.filter(Q(client_id__in=client_ids) | Q(to_number__in=phones) | Q(from_number__in=phones))
    changed += theirs.update(body="[erased]")
    changed += SmsMessage.objects.filter(to_number__in=phones).update(to_number="")
    changed += SmsMessage.objects.filter(from_number__in=phones).update(from_number="")
    changed += CampaignEmail.objects.filter(Q(client_id__in=client_ids) | Q(to_email__in=emails)).update(to_email="")
    return changed
