"""The clinic app's personal data: the client record itself."""

from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from .models import Client


def export_client_records(client_ids):
    rows = Client.objects.filter(pk__in=client_ids).select_related("preferred_location")
    return {
        "client": [
            {
                "first_name": c.first_name,
                "last_name": c.last_name,
                "email": c.email,
                "mobile_phone": str(c.mobile_phone or ""),
                "date_of_birth": c.date_of_birth.isoformat() if c.date_of_birth else None,
                "preferred_location": c.preferred_location.name if c.preferred_location else None,
                "adult_attested_at": c.adult_attested_at.isoformat() if c.adult_attested_at else None,
                "email_verified_at": c.email_verified_at.isoformat() if c.email_verified_at else None,
                "phone_verified_at": c.phone_verified_at.isoformat() if c.phone_verified_at else None,
                "language": c.language,
                "notes": c.notes,
                "created_at": c.created_at.isoformat(),
            }
            for c in rows
        ]
    }


def traces_of(clients) -> list[str]:
    """What would identify these people in free text: full and last name, email, phone as E.164 and national digits.

    Erasers scrub these from text others wrote about the person (the admin's
    history, audit details). Short fragments (a 3-letter surname) are left out:
    they would match unrelated text.
    """
    traces = set()
    for client in clients:
        phone = client.mobile_phone
        national = str(phone.national_number) if phone else ""
        for trace in (client.full_name, client.last_name, client.email, str(phone or ""), national):
            if trace and len(trace) > 3 and trace.lower() not in ("client", "erased client"):
                traces.add(trace)
    return sorted(traces, key=len, reverse=True)  # longest first, so "Dana Reyes" goes before "Reyes"


def _history_of_their_rows(client_ids) -> Q:
    """LogEntry rows about the clients and every row pointing at them (their appointments, texts, consents...)."""
    found = Q(content_type=ContentType.objects.get_for_model(Client), object_id__in=[str(pk) for pk in client_ids])
    for relation in Client._meta.related_objects:
        model = relation.related_model
        pks = [
            str(pk)
            for pk in model._base_manager.filter(**{f"{relation.field.name}__in": client_ids}).values_list(
                "pk", flat=True
            )
        ]
        if pks:
            # The admin logs a proxy (the inbox's InboundMessage) under the proxy's own content type.
            kinds = [m for m in apps.get_models() if m._meta.concrete_model is model._meta.concrete_model]
            types = ContentType.objects.get_for_models(*kinds, for_concrete_models=False).values()
            found |= Q(content_type__in=list(types), object_id__in=pks)
    return found


def erase_client_records(client_ids):
    """Anonymise the client record itself (last: other apps match by its email and phone first)."""
    clients = list(Client.objects.filter(pk__in=client_ids, erased_at__isnull=True))
    traces = traces_of(clients)
    # The admin's change history names objects by their str(): scrub the ones that mention the person,
    # and every entry about their own rows (it may name them as they were called then, before a correction).
    history = LogEntry.objects.filter(_history_of_their_rows(client_ids) | Q(object_repr__in=traces))
    for trace in traces:
        history = history | LogEntry.objects.filter(
            Q(object_repr__icontains=trace) | Q(change_message__icontains=trace)
        )
    changed = history.update(object_repr="[erased]", change_message="")
    changed += Client.objects.filter(pk__in=client_ids).update(
        first_name="Erased",
        last_name="client",
        email="",
        mobile_phone="",
        date_of_birth=None,
        notes="",
        email_verified_at=None,
        phone_verified_at=None,
        mobile_phone_problem="",
        processing_restricted=True,
        erased_at=timezone.now(),
    )
    return changed
