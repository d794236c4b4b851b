"""The waitlist's personal data: a client's waitlist entries and the offers texted for them."""

from .models import WaitlistEntry, WaitlistOffer
from .services import withdraw_entries


def export_waitlist(client_ids):
    entries = (
        WaitlistEntry.objects.filter(client_id__in=client_ids)
        .select_related("location", "service", "practitioner")
        .prefetch_related("more_services__service")
    )
    offers = WaitlistOffer.objects.filter(entry__client_id__in=client_ids).select_related("opening__location")
    return {
        "waitlist_entries": [
            {
                "location": e.location.name,
                "service": e.service.name,
                # A whole visit's later services, in order (empty: the one service alone).
                "then_services": [part.service.name for part in e.more_services.all()],
                "practitioner": e.practitioner.name if e.practitioner else "any",
                "earliest_date": e.earliest_date.isoformat(),
                "latest_date": e.latest_date.isoformat(),
                "status": e.status,
                "created_at": e.created_at.isoformat(),
            }
            for e in entries
        ],
        "waitlist_offers": [
            {
                "location": o.opening.location.name,
                "time_offered": o.opening.start.isoformat(),
                "status": o.status,
                "offered_at": o.created_at.isoformat(),
                "expires_at": o.expires_at.isoformat(),
                "answered_at": o.answered_at.isoformat() if o.answered_at else None,
            }
            for o in offers.order_by("created_at")
        ],
    }


def erase_waitlist(client_ids):
    """Entries stop waiting (no more offers) and live offers release their time.

    The rows hold no contact details or free text of their own (those live on the
    client record, which privacy anonymises): dates and services stay as history.
    """
    return withdraw_entries(client_ids=list(client_ids))
