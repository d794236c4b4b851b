"""Reads of the consent ledger."""

from collections.abc import Iterable

from django.db.models import OuterRef, Subquery

from clinic.models import Client

from .models import ConsentRecord


def current_consents(*, client_ids: Iterable[int], purpose: str) -> dict[int, bool]:
    """{client_id: granted} for the latest choice per client: one query, any count."""
    latest = ConsentRecord.objects.filter(client=OuterRef("pk"), purpose=purpose).order_by("-recorded_at", "-id")
    rows = (
        Client.objects.filter(pk__in=client_ids)
        .annotate(granted=Subquery(latest.values("granted")[:1]))
        .values_list("pk", "granted")
    )
    return {pk: bool(granted) for pk, granted in rows}


def has_consent(*, client: Client, purpose: str) -> bool:
    return current_consents(client_ids=[client.pk], purpose=purpose).get(client.pk, False)
