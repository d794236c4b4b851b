"""The privacy app's own personal data: the consent history."""

from .models import ConsentRecord


def export_consent_history(client_ids):
    rows = ConsentRecord.objects.filter(client_id__in=client_ids).order_by("recorded_at", "id")
    return {
        "consent_history": [
            {
                "purpose": r.purpose,
                "granted": r.granted,
                "notice_text": r.notice_text,
                "source": r.source,
                "actor": r.actor,
                "recorded_at": r.recorded_at.isoformat(),
                "ip_address": r.ip_address,
                "user_agent": r.user_agent,
                "evidence": r.evidence,
            }
            for r in rows
        ]
    }

