"""Field-level encryption of clinical answers, with keys of their own.

The fields come from django-fernet-encrypted-fields (Fernet, from `cryptography`); that
library derives its key from SECRET_KEY, so here the key source is replaced: the keys are
CLINICAL_FORMS_KEYS, a list of Fernet keys kept apart from the database and from
SECRET_KEY. The first key encrypts; every key in the list decrypts (MultiFernet), so a key
is rotated by putting a new one first, re-encrypting (`manage.py rotate_clinical_forms_keys`)
and then dropping the old one.

Unlike the library, a value no key opens is an error, not the ciphertext handed back as if
it were the answer: a missing key must be noticed, never shown to a practitioner as text.
"""

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedFieldMixin


class UndecryptableValueError(Exception):
    """A stored clinical value that none of CLINICAL_FORMS_KEYS opens (the key that wrote it is missing)."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise UndecryptableValueError("CLINICAL_FORMS_KEYS is empty: clinical forms cannot be read or written.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def clinical_fernet() -> MultiFernet:
    """The MultiFernet of the configured keys (the first encrypts); read at each use so a rotation applies."""
    return _fernet(tuple(settings.CLINICAL_FORMS_KEYS))


class ClinicalKeysMixin(EncryptedFieldMixin):
    """The library's field plumbing with CLINICAL_FORMS_KEYS as the keys, and strict decryption."""

    @property  # type: ignore[override]
    def keys(self) -> list[bytes]:
        return [key.encode() for key in settings.CLINICAL_FORMS_KEYS]

    @property  # type: ignore[override]
    def f(self) -> MultiFernet:
        return clinical_fernet()

    def decrypt_stored(self, value: str) -> str:
        try:
            return self.f.decrypt(value.encode()).decode()
        except InvalidToken:
            raise UndecryptableValueError(
                f"{self.model.__name__}.{self.name}: no key in CLINICAL_FORMS_KEYS opens a stored value "
                "(was the key that wrote it removed?)."
            ) from None


class EncryptedText(ClinicalKeysMixin, models.TextField):
    """Text stored encrypted; empty text is stored as NULL (the column says nothing about the answer)."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return ""
        return self.decrypt_stored(value)

    def to_python(self, value):
        return "" if value is None else str(value)


class EncryptedJSON(ClinicalKeysMixin, models.TextField):
    """A JSON document (answers, scopes) stored as one encrypted token: its keys and shape are hidden too."""

    def get_prep_value(self, value):
        if value is None:
            return None
        return self.f.encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return json.loads(self.decrypt_stored(value))

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))
