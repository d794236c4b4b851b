"""Correction (rectification): staff correct a client's record on the person's behalf.

The change is saved, audited by field name (never the values: they are
personal data), and propagated to what was derived from the old values:
each app that copied a contact detail or a name into something not yet sent
listens to `client_corrected` (messaging moves queued texts and emails to the
corrected number or address). The opt-out lists are keyed by the number or
address, not by the person, so a correction never lifts or moves an opt-out.
"""

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.dispatch import Signal

from clinic.errors import BusinessRuleError
from clinic.models import Client

from .requests_models import AuditAction, DataSubjectRequest
from .subject_requests import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# sender=Client; kwargs: client (saved, corrected), old ({field: value before}), changed ([field names]).
client_corrected = Signal()


class CorrectionRefused(BusinessRuleError):
    """The correction cannot be made (the message says why)."""


def _comparable(value: object) -> str:
    return "" if value is None else str(value)


def correct_client(
    *,
    client_id: int,
    changes: dict[str, Any],
    staff_user: "User | None" = None,
    request: DataSubjectRequest | None = None,
    actor_label: str = "",
) -> list[str]:
    """Apply `changes` ({field: new value}) to the client; returns the names of the fields that changed."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        if client.erased_at is not None:
            raise CorrectionRefused("This client was erased; there is nothing to correct.")
        old = {field: getattr(client, field) for field in changes}
        for field, value in changes.items():
            setattr(client, field, value)
        client.save()
        changed = [f for f in changes if _comparable(old[f]) != _comparable(getattr(client, f))]
        if changed:
            audit(
                AuditAction.DATA_CORRECTED,
                client=client,
                request=request,
                actor=staff_user,
                actor_label=actor_label or ("" if staff_user else "system"),
                detail=", ".join(changed),
            )
            client_corrected.send(sender=Client, client=client, old={f: old[f] for f in changed}, changed=changed)
    return changed
