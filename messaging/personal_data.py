"""The messaging app's personal data: a client's text messages."""

from .models import SmsMessage


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
