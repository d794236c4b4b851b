"""Signed links to a client's message preferences (the page itself is in messaging).

Kept here, below appointments and messaging, so every app's emails can carry
the link without importing messaging.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from clinic.hashing import contact_hash
from clinic.models import Client

SALT = "messaging.preferences"


class LinkInvalid(Exception):
    pass


class LinkExpired(Exception):
    pass


def preferences_token(client):
    # Bound to the address it is mailed to: a link that went to a mistyped address dies once the address is corrected.
    return signing.dumps({"c": client.pk, "e": contact_hash(client.email)}, salt=SALT)


def preferences_url(client):
    return settings.SITE_URL + reverse("messaging:preferences", args=[preferences_token(client)])


def client_from_preferences_token(token):
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.PREFERENCE_LINK_MAX_AGE_DAYS * 86400)
        client = Client.objects.get(pk=int(data["c"]), erased_at__isnull=True)
    except signing.SignatureExpired as exc:
        raise LinkExpired from exc
    except (signing.BadSignature, KeyError, TypeError, ValueError, Client.DoesNotExist) as exc:
        raise LinkInvalid from exc
    if data.get("e") != contact_hash(client.email):
        raise LinkInvalid
    return client
