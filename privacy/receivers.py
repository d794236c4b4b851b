"""What privacy hears from other apps without importing them."""

from clinic.models import Client
from clinic.personal_data import traces_of

from .personal_data import scrub
from .requests import audit
from .requests_models import AuditAction


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
