"""A database that is briefly unreachable gives a clear "try again" page, not a 500.

When PostgreSQL restarts, fails over or drops a connection mid-request, the
view's transaction is not committed (PostgreSQL rolls back whatever a lost
connection had written): the visitor gets a 503 with Retry-After asking them
to try again in a minute or call the clinic. Other database errors (a bug, a
violated constraint, a deadlock or a lock timeout) stay ordinary 500s. Exceptions raised by a view come here
(process_exception); one raised inside another middleware (a session or
cookie-group lookup) reaches clinic.views.server_error, which answers the same.
"""

import logging
import time
import zoneinfo

from django.conf import settings
from django.contrib.auth import logout
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
# If even the page cannot be rendered (a template or context needing the database), this.
FALLBACK_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Please try again shortly</title></head>'
    "<body><main><h1>We can't take bookings right now</h1><p>Our booking system is briefly unavailable. "
    "Please try again in a minute, or call the clinic.</p></main></body></html>"
)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        return database_unavailable(request, exception)


# PostgreSQL SQLSTATEs of a lost or refused connection: class 08, and the server shutting down.
CONNECTION_LOST = ("08", "57P01", "57P02", "57P03")


def is_database_unavailable(exception):
    """A database that cannot be reached or dropped the connection, not a deadlock, timeout or bug."""
    if isinstance(exception, InterfaceError):
        return True
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    if getattr(cause, "sqlite_errorname", None) is not None:
        return cause.sqlite_errorname == "SQLITE_CANTOPEN"
    sqlstate = getattr(cause, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(CONNECTION_LOST)


def database_unavailable(request, exception):
    logger.warning("Database unavailable for %s %s", request.method, request.path, exc_info=exception)
    try:
        content = render_to_string("503.html", request=request)
    except Exception:  # noqa: BLE001 - any failure here must still give the 503
        content = FALLBACK_HTML
    response = HttpResponse(content, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class StaffIdleTimeoutMiddleware:
    """Signs a staff member out after ADMIN_IDLE_TIMEOUT_MINUTES without a request.

    A staff session left open on a front-desk computer shows clients' data to
    whoever walks up. Only staff sessions are timed: a client's own session
    (booking, later an account) keeps Django's session age. The next admin page
    then asks for the password (and the second step) again.
    """

    LAST_SEEN = "staff_last_seen"  # session key: time.time() of the staff member's last request

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        minutes = settings.ADMIN_IDLE_TIMEOUT_MINUTES
        # No session cookie: no one is signed in, and nothing needs loading.
        if minutes > 0 and settings.SESSION_COOKIE_NAME in request.COOKIES:
            user = request.user
            if user.is_authenticated and user.is_staff:
                now = time.time()
                last_seen = request.session.get(self.LAST_SEEN)
                if last_seen is not None and now - last_seen > minutes * 60:
                    logger.info("Staff session of user %s ended after %s idle minutes", user.pk, minutes)
                    logout(request)
                else:
                    request.session[self.LAST_SEEN] = now
        return self.get_response(request)


class StaffTimezoneMiddleware:
    """Admin pages in the zone of the staff member's locations (clinic/timefmt.py).

    A staff member whose locations share one zone sees every time in it; anyone else (several
    zones, all locations) sees TIME_ZONE, and the zone's abbreviation on every time says which.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        zone = None
        if request.path.startswith("/admin/") and user is not None and user.is_authenticated and user.is_staff:
            zone = _staff_zone(user)
        if zone is None:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)


class StaffEnglishMiddleware:
    """The admin and the staff sign-in steps in English, whatever the browser's language.

    LocaleMiddleware picks the visitor's language for the public pages; staff work in English,
    so the admin is not half-translated by Django's own Spanish catalog.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(("/admin/", "/staff/")):
            return self.get_response(request)
        translation.activate(settings.LANGUAGE_CODE)
        request.LANGUAGE_CODE = settings.LANGUAGE_CODE
        return self.get_response(request)


def _staff_zone(user):
    from .models import Location
    from .selectors import staff_location_ids

    ids = staff_location_ids(user)
    if not ids:
        return None
    zones = set(Location.objects.filter(pk__in=ids).values_list("timezone", flat=True).distinct())
    return zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else None
