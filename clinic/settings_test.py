"""Settings for the test suite (pytest reads this module, see pyproject.toml) and mypy.

The project's settings fail closed: without DEBUG=true they demand a real
SECRET_KEY and send texts through Twilio. The tests are development runs, so
DEBUG defaults to on here, before clinic.settings reads the environment; an
explicit DEBUG in the environment still wins. Subprocesses the tests start
inherit it unless they pass their own.
"""

import os

os.environ.setdefault("DEBUG", "true")

from django.conf import global_settings

from clinic.settings import *  # noqa: F403

# Staff users are made by the hundred and each hash is meant to be slow (PBKDF2, a million
# rounds: ~0.4 s apiece on CI). The tests check who may sign in, not the hash's strength, so
# they hash with MD5 first; Django's default hashers (the project's) stay listed, so their hashes still verify.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *global_settings.PASSWORD_HASHERS]
