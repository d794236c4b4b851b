"""The privacy app's own personal data: consent history (with the cookie choices of the
person's browsers), policy-change notices, privacy requests and their audit trail."""

from django.db.models import Q

from clinic.models import Client
from clinic.personal_data import traces_of

from .ledger import rewriting_ledger
from .models import ConsentRecord, PolicyChangeNotice
from .requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent
from .subject_requests import forget_download_source

# Free-text fields of a request that staff or the requester write, and may name the person.
REQUEST_TEXT_FIELDS = ("details", "outcome", "refusal_basis", "extension_reason", "legal_hold_reason")


def _visitor_ids(client_ids):
    """The cookie-consent visitor ids of these clients' browsers (recorded with their booking consents)."""
    return set(
        ConsentRecord.objects.filter(client_id__in=client_ids)
        .exclude(visitor_id="")
        .values_list("visitor_id", flat=True)
    )


def _consents(client_ids):
    visitors = _visitor_ids(client_ids)
    return ConsentRecord.objects.filter(Q(client_id__in=client_ids) | Q(visitor_id__in=visitors))


def _requests(client_ids, emails=()):
    ids = DataSubjectRequest.objects.filter(Q(clients__in=client_ids) | Q(email__in=[e for e in emails if e]))
    return DataSubjectRequest.objects.filter(pk__in=list(ids.values_list("pk", flat=True)))


def export_consent_history(client_ids):
    rows = _consents(client_ids).order_by("recorded_at", "id")
    return {
        "consent_history": [
            {
                "purpose": r.purpose,
                "granted": r.granted,
                "notice_text": r.notice_text,
                "language": r.language,
                "source": r.source,
                "actor": r.actor,
                "recorded_at": r.recorded_at.isoformat(),
                "ip_address": r.ip_address,
                "user_agent": r.user_agent,
                "evidence": r.evidence,
                "visitor_id": r.visitor_id,
            }
            for r in rows
        ]
    }


def export_policy_notices(client_ids):
    rows = (
        PolicyChangeNotice.objects.filter(client_id__in=client_ids)
        .select_related("policy")
        .order_by("policy__effective_date")
    )
    return {
        "policy_notices": [
            {
                "policy_version": n.policy.version,
                "effective_date": n.policy.effective_date.isoformat(),
                "sent_at": n.sent_at.isoformat() if n.sent_at else None,
            }
            for n in rows
        ]
    }


def export_privacy_requests(client_ids):
    requests = _requests(client_ids).order_by("received_at")
    events = PrivacyAuditEvent.objects.filter(Q(client_id__in=client_ids) | Q(request__in=requests)).select_related(
        "request"
    )
    return {
        "privacy_requests": [
            {
                "reference": r.reference,
                "type": r.request_type,
                "status": r.status,
                "channel": r.channel,
                "received_at": r.received_at.isoformat(),
                "verified_at": r.verified_at.isoformat() if r.verified_at else None,
                "due_at": r.deadline.isoformat(),
                "completed_at": r.completed_at.isoformat() if r.completed_at else None,
                "details": r.details,
                "outcome": r.outcome,
                "refusal_basis": r.refusal_basis,
            }
            for r in requests
        ],
        "privacy_audit_events": [
            {
                "at": e.at.isoformat(),
                "action": e.action,
                "request_reference": e.request.reference if e.request else None,
                # Staff are named by role, not by name: the record is about the person, not the staff.
                "actor": "staff" if e.actor_id else e.actor_label,
                "detail": e.detail,
            }
            for e in events.order_by("at", "id")
        ],
    }


def export_subject(client_ids):
    return {
        **export_consent_history(client_ids),
        **export_policy_notices(client_ids),
        **export_privacy_requests(client_ids),
    }


def scrub(text: str, traces: list[str]) -> str:
    """The text with every trace of the person (case-insensitive) replaced by "[erased]"."""
    lowered = text.lower()
    for trace in traces:
        start = lowered.find(trace.lower())
        while start != -1:
            text = text[:start] + "[erased]" + text[start + len(trace) :]
            lowered = text.lower()
            start = lowered.find(trace.lower(), start + len("[erased]"))
    return text


def erase_privacy_records(client_ids):
    """Anonymise consent evidence (their browsers' cookie choices too), the requests' contact details and
    free text, and any mention of the person in the audit trail; the register and the choices themselves stay."""
    clients = list(Client.objects.filter(pk__in=client_ids))
    traces = traces_of(clients)
    changed = _consents(client_ids).anonymise()
    requests = _requests(client_ids, emails=[c.email for c in clients])
    changed += requests.update(email="", phone="", details="", verification_nonce="", sms_code_hash="")
    # Staff-written text on the request (outcome, refusal or extension reasons) keeps its sense, not the person.
    for dsr in requests:
        fields = {f: scrub(getattr(dsr, f), traces) for f in REQUEST_TEXT_FIELDS if getattr(dsr, f)}
        fields = {f: v for f, v in fields.items() if v != getattr(dsr, f)}
        if fields:
            changed += DataSubjectRequest.objects.filter(pk=dsr.pk).update(**fields)
    # Where they downloaded their export from (address, browser) is theirs too.
    downloads = PrivacyAuditEvent.objects.filter(
        Q(request__in=requests) | Q(client_id__in=client_ids), action=AuditAction.DATA_EXPORTED
    )
    # The audit trail is append-only for what was done (enforced in PostgreSQL, privacy/ledger.py);
    # erasure is one of the two paths allowed to rewrite its detail: only the person's identifiers go.
    with rewriting_ledger():
        for event in downloads.only("pk", "detail"):
            forgotten = forget_download_source(event.detail)
            if forgotten != event.detail:
                changed += PrivacyAuditEvent.objects.filter(pk=event.pk).update(detail=forgotten)
        mentions = Q()
        for trace in traces:
            mentions |= Q(detail__icontains=trace)
        if traces:
            for event in PrivacyAuditEvent.objects.filter(mentions).only("pk", "detail"):
                changed += PrivacyAuditEvent.objects.filter(pk=event.pk).update(detail=scrub(event.detail, traces))
    return changed
