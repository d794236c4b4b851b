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
    """A merge never turns a "no" into a "yes": a withdrawal on EITHER record stands over the other's "yes".

    The ledger's latest row wins and the duplicate's rows move over, so the merged
    record shows the person's latest choice per purpose when the two agree or only one
    has chosen. When one record's latest choice is a withdrawal (STOP, unsubscribe, an
    unticked box) and the other's is a later "yes", the withdrawal is recorded again on
    the kept record as of now, before the rows move: the "yes" (often typed on a form
    that proved nothing) does not lift an opt-out. The person can say yes again
    from their own account or preference link.
    """
    keep = None
    for purpose in WITHDRAWABLE_PURPOSES:
        latest = {
            client_id: ConsentRecord.objects.filter(client_id=client_id, purpose=purpose)
            .order_by("-recorded_at", "-id")
            .first()
            for client_id in (keep_id, duplicate_id)
        }
        kept, duplicate = latest[keep_id], latest[duplicate_id]
        if kept is None or duplicate is None or kept.granted == duplicate.granted:
            continue
        withdrawal, grant = (duplicate, kept) if kept.granted else (kept, duplicate)
        if (grant.recorded_at, grant.pk) < (withdrawal.recorded_at, withdrawal.pk):
            continue  # the withdrawal is the later row already: it stays the latest once the rows move
        keep = keep or Client.objects.get(pk=keep_id)
        record_consent(
            client=keep,
            purpose=purpose,
            granted=False,
            notice_text=withdrawal.notice_text,
            source=ConsentSource.RECORD_MERGE,
            actor=ConsentActor.STAFF if staff_user else ConsentActor.SYSTEM,
            staff_user=staff_user,
            evidence=(
                f"Merge of client #{duplicate_id} into #{keep_id}: the withdrawal of record "
                f"#{withdrawal.client_id} (ledger row {withdrawal.pk}) stands over the later yes of record "
                f"#{grant.client_id}."
            ),
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
