"""The privacy app's own personal data: the consent history."""

from django.db.models import Q

from clinic.models import Client

from .models import ConsentRecord
from .requests_models import DataSubjectRequest, RequestType


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



def export_privacy_requests(client_ids):
    rows = DataSubjectRequest.objects.filter(clients__in=client_ids).distinct().order_by("received_at")
    return {
        "privacy_requests": [
            {
                "reference": r.reference,
                "type": r.request_type,
                "status": r.status,
                "received_at": r.received_at.isoformat(),
                "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "details": r.details,
            }
            for r in rows
        ]
    }


def export_subject(client_ids):
    return {**export_consent_history(client_ids), **export_privacy_requests(client_ids)}


def erase_privacy_records(client_ids):
    """Anonymise consent evidence and the requests' contact details; the register itself stays."""
    emails = [e for e in Client.objects.filter(pk__in=client_ids).values_list("email", flat=True) if e]
    changed = ConsentRecord.objects.filter(client_id__in=client_ids).anonymise()
    requests = DataSubjectRequest.objects.filter(Q(clients__in=client_ids) | Q(email__in=emails)).distinct()
    changed += DataSubjectRequest.objects.filter(pk__in=list(requests.values_list("pk", flat=True))).update(
        email="", phone="", details=""
    )
    return changed
