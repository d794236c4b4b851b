"""What privacy hears from other apps without importing them."""

from clinic.identity import MergeRefused
from clinic.models import Client
from clinic.personal_data import traces_of

from .models import ConsentActor, ConsentPurpose, ConsentRecord, ConsentSource
from .personal_data import scrub
from .requests_models import AuditAction, DataSubjectRequest, RequestStatus
from .services import record_consent
from .subject_requests import audit

OPEN_REQUEST_STATUSES = (RequestStatus.RECEIVED, RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS)
# The choices a merge must not turn from "no" into "yes".
WITHDRAWABLE_PURPOSES = (
    ConsentPurpose.SMS_REMINDERS,
    ConsentPurpose.SMS_MARKETING,
    ConsentPurpose.SMS_WAITLIST,
    ConsentPurpose.EMAIL_MARKETING,
    ConsentPurpose.SALE_SHARING,
)


def refuse_merge_with_open_request(sender, *, keep_id, duplicate_id, **kwargs):
    """A merge would widen an open privacy request to the other record's data (or hide it): finish the request first."""
    open_request = (
        DataSubjectRequest.objects.filter(clients__in=[keep_id, duplicate_id], status__in=OPEN_REQUEST_STATUSES)
        .order_by("received_at")
        .first()
    )
    if open_request is not None:
        raise MergeRefused(
            f"Privacy request {open_request.reference} is still open for one of these records: "
            "complete or refuse it before merging."
        )


def keep_withdrawals_across_a_merge(sender, *, keep_id, duplicate_id, staff_user=None, **kwargs):
    """A "no" on the kept record stands: a later "yes" on the duplicate does not become the merged record's choice.

    The ledger's latest row wins, and the duplicate's rows move over; so before
    they move, the kept record's withdrawal is recorded again, as of now.
    """
    for purpose in WITHDRAWABLE_PURPOSES:
        latest = {
            client_id: ConsentRecord.objects.filter(client_id=client_id, purpose=purpose)
            .order_by("-recorded_at", "-id")
            .first()
            for client_id in (keep_id, duplicate_id)
        }
        kept, duplicate = latest[keep_id], latest[duplicate_id]
        if kept is None or kept.granted or duplicate is None or not duplicate.granted:
            continue
        if (duplicate.recorded_at, duplicate.pk) < (kept.recorded_at, kept.pk):
            continue
        record_consent(
            client=Client.objects.get(pk=keep_id),
            purpose=purpose,
            granted=False,
            notice_text=kept.notice_text,
            source=ConsentSource.RECORD_MERGE,
            actor=ConsentActor.STAFF if staff_user else ConsentActor.SYSTEM,
            staff_user=staff_user,
            evidence=f"Merge of client #{duplicate_id} into #{keep_id}: the withdrawal of record #{kept.pk} stands.",
        )


def audit_clients_merged(
    sender, *, keep_id, duplicate_id, staff_user=None, actor_label="", reason="", moved=None, **kwargs
):
    """Every merge of two client records is in the privacy audit trail (ids only: no personal data)."""
    # Staff may name either record's person in the reason; the audit row outlives an erasure of the kept
    # record, which no longer knows the duplicate's name, email or phone (both records still exist here).
    reason = scrub(reason, traces_of(Client.objects.filter(pk__in=[keep_id, duplicate_id])))
    counts = ", ".join(f"{label} {n}" for label, n in sorted((moved or {}).items())) or "nothing"
    audit(
        AuditAction.CLIENTS_MERGED,
        client_id=keep_id,
        actor=staff_user,
        actor_label="" if staff_user else (actor_label or "system"),
        detail=f"Client #{duplicate_id} merged into #{keep_id}. Reason: {reason}. Moved: {counts}.",
    )
