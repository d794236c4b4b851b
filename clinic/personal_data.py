"""The clinic app's personal data: the client record itself."""

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
                "created_at": c.created_at.isoformat(),
            }
            for c in rows
        ]
    }
