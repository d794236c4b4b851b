"""Test support in one place, loaded as a pytest plugin by the root conftest (`pytest_plugins`).

- `environment`: the settings every test runs under, the PostgreSQL marker, the SMS outbox.
- `builders`: factories for the clinic's models and builders of clinic data.
- `booking`: the online booking form, as a client fills it in.
- `sms`: texts from a client's phone through the signed webhook, and a client who gets texts.
- `privacy_requests`: a client with data in every table, and the request-and-verify steps.
- `processes`: real Celery workers, a private Redis, free ports (the worker and fault tests).
- `fakes`: local stand-ins for outside providers (the Twilio API) and their fixtures.

Test modules and conftests import helpers from here, never from one another; the fixtures
defined here are available to every test without an import.
"""

pytest_plugins = [
    "tests.support.environment",
    "tests.support.fakes",
    "tests.support.sms",
    "tests.support.privacy_requests",
]
