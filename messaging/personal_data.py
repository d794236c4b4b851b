"""The messaging app's personal data: a client's text messages."""

from django.db.models import Q

from clinic.hashing import contact_hash
from clinic.models import Client

from privacy.models import ConsentActor

from . import opt_outs
from .models import CampaignEmail, EmailOptOut, OptOutEvent, OptOutSource, SmsMessage, SmsOptOut


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


def erase_messages(client_ids):
    """Wipe message contents and the person's numbers; keep their opt-outs as keyed hashes only."""
    clients = list(Client.objects.filter(pk__in=client_ids))
    phones = {str(c.mobile_phone) for c in clients if c.mobile_phone}
    emails = {c.email for c in clients if c.email}
    for phone in phones:
        opt_outs.add_sms_opt_out(
            phone=phone, reason="Erased on request: kept as a hash so texts stay stopped", source=OptOutSource.ERASURE,
            actor=ConsentActor.SYSTEM, withdraw_consents=False, keep_number=False,
        )
    for email in emails:
        opt_outs.add_email_opt_out(
            email=email, reason="Erased on request: kept as a hash so emails stay stopped", source=OptOutSource.ERASURE,
            actor=ConsentActor.SYSTEM, keep_address=False,
        )
    hashes = [contact_hash(p) for p in phones]
    changed = SmsOptOut.objects.filter(phone_hash__in=hashes).exclude(phone="").update(phone="", evidence="")
    # The history of their opt-outs keeps only the hash, the action, the source and when.
    changed += OptOutEvent.objects.filter(contact_hash__in=hashes + [contact_hash(e) for e in emails]).exclude(
        evidence=""
    ).update(evidence="")
    changed += EmailOptOut.objects.filter(email_hash__in=[contact_hash(e) for e in emails]).exclude(email="").update(email="")
    theirs = SmsMessage.objects.filter(Q(client_id__in=client_ids) | Q(to_number__in=phones) | Q(from_number__in=phones))
    changed += theirs.update(body="[erased]")
    changed += SmsMessage.objects.filter(to_number__in=phones).update(to_number="")
    changed += SmsMessage.objects.filter(from_number__in=phones).update(from_number="")
    changed += CampaignEmail.objects.filter(Q(client_id__in=client_ids) | Q(to_email__in=emails)).update(to_email="")
    return changed
