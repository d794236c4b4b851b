"""Start-up checks: without usable CLINICAL_FORMS_KEYS (or with the development key outside DEBUG)
`manage.py check` and process start fail, not the first client who fills a form."""

import binascii

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks

HINT = (
    'Generate one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" '
    "and keep it apart from the database backups and SECRET_KEY."
)


@checks.register("clinical_forms")
def clinical_forms_keys_are_usable(app_configs=None, **kwargs):
    keys = settings.CLINICAL_FORMS_KEYS
    if not keys:
        return [
            checks.Error(
                "CLINICAL_FORMS_KEYS is not set: clinical answers cannot be encrypted.",
                hint=HINT,
                id="clinical_forms.E001",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, binascii.Error):
            errors.append(
                checks.Error(
                    f"CLINICAL_FORMS_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes).",
                    hint=HINT,
                    id="clinical_forms.E002",
                )
            )
    if not settings.CLINICAL_FORMS_DEV_KEY_ALLOWED and settings.CLINICAL_FORMS_DEV_KEY in keys:
        errors.append(
            checks.Error(
                "CLINICAL_FORMS_KEYS holds the development key, which is public: set a key of your own.",
                hint=HINT,
                id="clinical_forms.E003",
            )
        )
    return errors
