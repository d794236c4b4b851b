"""Settings for the test suite (pytest reads this module, see pyproject.toml) and mypy.

The project's settings fail closed: without DEBUG=true they demand a real
SECRET_KEY and send texts through Twilio. The tests are development runs, so
DEBUG defaults to on here, before clinic.settings reads the environment; an
explicit DEBUG in the environment still wins. Subprocesses the tests start
inherit it unless they pass their own.
"""

import os

os.environ.setdefault("DEBUG", "true")

from clinic.settings import *  # noqa: F403
