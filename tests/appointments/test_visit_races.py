"""Visits racing on PostgreSQL: all or nothing, one winner, and a lock order that never deadlocks."""

import threading
import time

import pytest
from django.db import connection, connections

from appointments import services
from appointments.models import Appointment, Practitioner, Visit
from tests.support.environment import requires_postgres
from tests.support.visits import at, book, visit_clinic

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


def _run_together(jobs, *, before_start=None):
    """Run each job in its own thread and connection; returns what each returned or raised, in order."""
    results: list = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(i):
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    if before_start:
        before_start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_clients_racing_for_overlapping_visits_yield_one_whole_visit():
    clinic = visit_clinic()
    # Both visits need Blake's facial at 9:30 (one after a consultation, one after a neurotoxin).
    first = [clinic.consultation, clinic.facial]
    second = [clinic.neurotoxin, clinic.facial]
    for _round in range(3):
        Appointment.objects.all().delete()
        Visit.objects.all().delete()
        results = _run_together(
            [
                lambda: book(clinic, first, at(9), 1, practitioner_ids=[None, clinic.blake.pk]),
                lambda: book(clinic, second, at(9), 2, practitioner_ids=[clinic.avery.pk, None]),
            ]
        )
        won = [r for r in results if isinstance(r, list)]
        lost = [r for r in results if isinstance(r, services.SlotUnavailable)]
        assert len(won) == 1 and len(lost) == 1, results
        # The loser left nothing behind: every appointment belongs to the winner's one visit.
        assert Visit.objects.count() == 1
        assert Appointment.objects.count() == 2
        assert set(Appointment.objects.values_list("visit_id", flat=True)) == {won[0][0].visit_id}


def _waiting_on_locks():
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def test_visits_wanting_the_same_practitioners_in_opposite_orders_never_deadlock():
    """Lock order: each visit locks its practitioners by id, whatever the order of its services.

    Two other transactions hold Avery and Blake; one visit wants Avery then Blake, the other Blake
    then Avery. When both are waiting, the holders let go at once: locking in service order, each
    visit would grab its first practitioner and wait for the other's (a deadlock, one fails with a
    database error); locking by id, both queue for the same first one and the second simply waits.
    """
    clinic = visit_clinic()
    holders = []
    for person in (clinic.avery, clinic.blake):
        holder = connections.create_connection("default")
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {Practitioner._meta.db_table} WHERE id = %s FOR UPDATE", [person.pk])
        holders.append(holder)

    def release_when_both_wait():
        deadline = time.monotonic() + 20
        while _waiting_on_locks() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        for holder in holders:
            holder.commit()
            holder.close()

    # Avery's consultation then Blake's facial; Blake's neurotoxin then Avery's neurotoxin, later in the day.
    results = _run_together(
        [
            lambda: book(clinic, [clinic.consultation, clinic.facial], at(9), 1),
            lambda: book(
                clinic,
                [clinic.neurotoxin, clinic.neurotoxin],
                at(13),
                2,
                practitioner_ids=[clinic.blake.pk, clinic.avery.pk],
            ),
        ],
        before_start=release_when_both_wait,
    )
    assert all(isinstance(r, list) for r in results), [repr(r)[:600] for r in results if not isinstance(r, list)]
    assert Visit.objects.count() == 2


def test_the_front_desk_moving_a_visit_and_a_client_booking_the_same_time_never_both_get_it():
    """Race: a whole-visit move from the admin and an online booking of Blake's 14:30 HydraFacial (and the one
    room) at once: exactly one gets it; a refused move leaves every part of the visit where it was."""
    clinic = visit_clinic()
    for _round in range(3):
        Appointment.objects.all().delete()
        Visit.objects.all().delete()
        parts = book(clinic, [clinic.consultation, clinic.facial], at(9), 1)
        version = max(Appointment.objects.filter(visit=parts[0].visit).values_list("updated_at", flat=True))
        results = _run_together(
            [
                lambda lead=parts[0].pk, version=version: services.move_visit_from_front_desk(
                    appointment_id=lead,
                    start=at(14),
                    practitioner_ids=[clinic.avery.pk, clinic.blake.pk],
                    expected_version=version,
                ),
                lambda: book(clinic, [clinic.neurotoxin, clinic.facial], at(14), 2, practitioner_ids=[None, None]),
            ]
        )
        moved = isinstance(results[0], list)
        booked = isinstance(results[1], list)
        assert moved != booked, results
        assert isinstance(
            results[0] if booked else results[1], services.FrontDeskBookingRefused | services.SlotUnavailable
        )
        facials = Appointment.objects.filter(service=clinic.facial).order_by("start")
        if moved:
            assert [a.start for a in Appointment.objects.filter(visit=parts[0].visit)] == [at(14), at(14, 30)]
            assert Visit.objects.count() == 1
        else:
            assert [a.start for a in Appointment.objects.filter(visit=parts[0].visit)] == [at(9), at(9, 30)]
            assert [f.start for f in facials] == [at(9, 30), at(14, 30)]
