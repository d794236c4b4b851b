"""The database briefly unavailable: a clear 503 page, never a 500, never a half-written booking.

The first test runs on SQLite and PostgreSQL (the database cannot be reached at
all); the second needs PostgreSQL: the connection is cut by the server in the
middle of the booking's transaction, after the client and appointment rows
were inserted.
"""

import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from appointments.models import Appointment
from clinic.models import Client
from privacy.models import ConsentRecord
from tests.support.booking import ANA_WITH_REMINDERS, booking_form_url, post_booking
from tests.support.environment import requires_postgres
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the tests close and cut the connection


def _written():
    return Client.objects.count(), Appointment.objects.count(), ConsentRecord.objects.count()


def _ids_handed_out(model):
    """How many ids PostgreSQL has handed out for the model's table: sequences ignore rollbacks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
        cursor.execute(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {cursor.fetchone()[0]}")
        return cursor.fetchone()[0]


def _assert_clear_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    page = response.content.decode()
    assert "can't take bookings right now" in page
    assert "try again in a minute" in page and "call the clinic" in page


@contextmanager
def database_unreachable():
    """Point the connection at a database that is not there: a closed port, or a missing SQLite file."""
    settings_dict = connection.settings_dict
    saved = dict(settings_dict)
    connection.close()
    with tempfile.TemporaryDirectory() as tmp:
        if connection.vendor == "sqlite":
            settings_dict["NAME"] = str(Path(tmp) / "missing" / "db.sqlite3")
        else:
            settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
        try:
            yield
        finally:
            connection.close()
            settings_dict.clear()
            settings_dict.update(saved)


def test_an_unreachable_database_gives_a_clear_503_and_the_next_booking_succeeds(client, open_clinic):
    location, service, start = open_clinic
    assert client.get(booking_form_url(location, service, start)).status_code == 200  # a visitor on the form

    with database_unreachable():
        response = post_booking(client, location, service, start, **ANA_WITH_REMINDERS)
    _assert_clear_503(response)
    assert _written() == (0, 0, 0)

    response = post_booking(client, location, service, start, **ANA_WITH_REMINDERS)  # the database is back
    assert response.status_code == 302
    assert _written() == (1, 1, 4)


@pytest.fixture
def connection_cut_after_the_appointment_insert():
    """A trigger that makes the server terminate the booking's own connection once the appointment row is
    inserted (the booking's last write): the client, its consents and the appointment are written by then."""
    table = Appointment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION fault_cut_connection() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER fault_cut_connection AFTER INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fault_cut_connection()"
        )
    yield
    connection.close()
    with connection.cursor() as cursor:  # a fresh connection
        cursor.execute(f"DROP TRIGGER IF EXISTS fault_cut_connection ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS fault_cut_connection()")


@requires_postgres
def test_a_connection_lost_mid_booking_gives_a_clear_503_and_writes_nothing(
    client, open_clinic, connection_cut_after_the_appointment_insert
):
    location, service, start = open_clinic
    ids_before = [_ids_handed_out(model) for model in (Client, Appointment)]

    response = post_booking(client, location, service, start, **ANA_WITH_REMINDERS)
    _assert_clear_503(response)
    # The client, its consents and the appointment were inserted before the cut, and rolled back with it.
    assert [_ids_handed_out(model) for model in (Client, Appointment)] == [n + 1 for n in ids_before]
    assert _written() == (0, 0, 0)

    with connection.cursor() as cursor:  # the database is back to normal
        cursor.execute(f"DROP TRIGGER fault_cut_connection ON {Appointment._meta.db_table}")
    response = post_booking(client, location, service, start, **ANA_WITH_REMINDERS)
    assert response.status_code == 302
    assert _written() == (1, 1, 4)


def test_a_database_outage_met_inside_a_middleware_also_gives_the_503_page(settings, django_user_model):
    from django.test import Client as BrowserClient

    settings.STAFF_TWO_FACTOR = True  # its middleware reads the signed-in user: a session lookup
    browser = BrowserClient(raise_request_exception=False)
    browser.force_login(django_user_model.objects.create_user("desk", is_staff=True))
    with database_unreachable():
        response = browser.get("/admin/")
    _assert_clear_503(response)
    assert browser.get("/admin/").status_code == 200  # the database is back


def test_only_a_lost_database_is_an_outage_not_a_deadlock_or_a_locked_file():
    import sqlite3

    from django.db import OperationalError

    from clinic.middleware import is_database_unavailable

    def django_error(cause):
        error = OperationalError(str(cause))
        error.__cause__ = cause
        return error

    class PgError(Exception):
        def __init__(self, sqlstate):
            self.sqlstate = sqlstate

    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorname = "SQLITE_BUSY"
    cannot_open = sqlite3.OperationalError("unable to open database file")
    cannot_open.sqlite_errorname = "SQLITE_CANTOPEN"
    assert is_database_unavailable(django_error(cannot_open))
    assert not is_database_unavailable(django_error(locked))
    assert is_database_unavailable(django_error(PgError(None)))  # connection refused or closed
    assert is_database_unavailable(django_error(PgError("08006")))
    assert is_database_unavailable(django_error(PgError("57P01")))  # server shutting down
    assert not is_database_unavailable(django_error(PgError("40P01")))  # deadlock: a bug to see as a 500
    assert not is_database_unavailable(django_error(PgError("57014")))  # statement timeout
