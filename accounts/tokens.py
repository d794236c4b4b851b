"""Hashes of one-time secrets: only these are stored, never the code, the link's nonce or the session key."""

from django.utils.crypto import salted_hmac

SALT = "accounts.secret"


def secret_hash(kind: str, value: str) -> str:
    return salted_hmac(f"{SALT}.{kind}", value, algorithm="sha256").hexdigest()
