"""Every appointment write goes through appointments.services, and every status change follows its one table."""

import ast
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin, ModelAdmin

from appointments import services
from appointments.models import Appointment, AppointmentStatus
from tests.support.builders import AppointmentFactory, ClientFactory, bookable_clinic

ROOT = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
S = AppointmentStatus

# The one module that writes appointments, and seeding that only ever runs against a scratch database.
ALLOWED = {"appointments/services.py"}
SEEDING = ("bench/",)
WRITE_METHODS = {
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "update",
    "delete",
    "save",
}
INSTANCE_WRITES = {"save", "delete"}


def _project_modules():
    """Every Python module of the project but the tests and benchmark seeding (not the venv or mutmut's copies)."""
    skipped = {"tests", "mutants", "var", "staticfiles", "node_modules", *(part.rstrip("/") for part in SEEDING)}
    tops = [p for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in skipped]
    for path in sorted([*ROOT.glob("*.py"), *(p for top in tops for p in top.rglob("*.py"))]):
        relative = path.relative_to(ROOT).as_posix()
        if "/migrations/" not in relative:
            yield relative, path


def appointment_writes(source):
    """Calls in `source` that write Appointment rows, as "line: code"; found from the syntax tree.

    A write is a create/update/delete/save on a chain that starts at the Appointment model (under
    any imported name), at a related manager or attribute named for appointments
    (`client.appointments`, `message.appointment`), or at a variable assigned from such a chain
    (a queryset or an instance kept in a name), and any raw SQL naming the table.
    """
    tree = ast.parse(source)
    models = {"Appointment"} | {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name == "Appointment"
    }
    derived: set[str] = set()

    def root(expr):
        """(how the chain starts, whether it names appointments) for an expression like a.b().c."""
        while True:
            if isinstance(expr, ast.Call):
                expr = expr.func
            elif isinstance(expr, ast.Subscript):
                expr = expr.value
            elif isinstance(expr, ast.Attribute):
                if expr.attr in models or expr.attr == "appointments":  # the model, or a related manager
                    return "model"
                if "appointment" in expr.attr.lower():
                    return "named"
                expr = expr.value
            elif isinstance(expr, ast.Name):
                if expr.id in models or expr.id in derived:
                    return "model"
                return "named" if "appointment" in expr.id.lower() else None
            else:
                return None

    for _ in range(3):  # names assigned from names: a few rounds reach a fixed point
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.For | ast.withitem | ast.NamedExpr):
                value = node.iter if isinstance(node, ast.For) else getattr(node, "value", None)
                value = node.context_expr if isinstance(node, ast.withitem) else value
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                if isinstance(node, ast.withitem):
                    targets = [node.optional_vars]
                if value is not None and root(value) == "model":
                    for target in targets:
                        for name in ast.walk(target) if target is not None else ():
                            if isinstance(name, ast.Name):
                                derived.add(name.id)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, start = node.func.attr, root(node.func.value)
            if (start == "model" and method in WRITE_METHODS) or (start == "named" and method in INSTANCE_WRITES):
                found.append(f"{node.lineno}: {ast.unparse(node)[:100]}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "appointments_appointment" in node.value.lower():
                found.append(f"{node.lineno}: raw SQL on the appointments table")
    return found


def test_no_module_but_the_appointment_services_writes_appointments():
    offenders = {
        relative: writes
        for relative, path in _project_modules()
        if relative not in ALLOWED and (writes := appointment_writes(path.read_text()))
    }
    assert offenders == {}


def test_the_write_finder_sees_the_ways_code_writes_appointments():
    # The architecture test above is only as good as this finder: each of these is a write.
    writes = [
        "Appointment.objects.filter(pk=1).update(status='confirmed')",
        "from appointments.models import Appointment as Visit\nVisit.objects.create(start=s)",
        "rows = Appointment.objects.filter(pk=1)\nrows.delete()",
        "for visit in Appointment.objects.all():\n    visit.save()",
        "upcoming = Appointment.objects.first()\nupcoming.status = 'x'\nupcoming.save()",
        "appointment.save(update_fields=['status'])",
        "message.appointment.delete()",
        "client.appointments.update(notes='')",
        "models.Appointment.objects.bulk_create(rows)",
        "cursor.execute('UPDATE appointments_appointment SET status = %s')",
    ]
    reads = [
        "Appointment.objects.filter(pk=1).exists()",
        "appointment_ids.update(more)",  # a set named for appointments is not a queryset
        "SmsMessage.objects.filter(appointment=a).update(status='x')",
        "message.save()",
    ]
    assert [bool(appointment_writes(code)) for code in writes] == [True] * len(writes)
    assert [bool(appointment_writes(code)) for code in reads] == [False] * len(reads)


def test_the_admin_writes_appointments_only_through_the_services():
    # Django's own ModelAdmin saves and deletes by itself: every admin for appointments replaces those paths.
    for model, model_admin in admin.site._registry.items():
        if model is Appointment:
            for method in ("save_model", "delete_model", "delete_queryset"):
                assert getattr(type(model_admin), method) is not getattr(ModelAdmin, method), method
        for inline in model_admin.inlines:
            if inline.model is Appointment:
                assert not inline.can_delete
                assert inline.has_add_permission is not InlineModelAdmin.has_add_permission
                assert set(inline.fields) <= set(inline.readonly_fields)


def test_status_table_cancelled_completed_and_no_show_are_final():
    for final in (S.CANCELLED, S.COMPLETED, S.NO_SHOW):
        assert services.STATUS_TRANSITIONS[final] == frozenset()
    assert set(services.STATUS_TRANSITIONS) == set(S.values)


@pytest.fixture
def visit(db):
    location, service, (person,) = bookable_clinic(hours=((time(9), time(17)),))
    start = datetime.combine(datetime.now(LA).date() + timedelta(days=7), time(10), tzinfo=LA)
    return AppointmentFactory(location=location, service=service, practitioner=person, start=start)


@pytest.mark.parametrize(
    ("before", "after"),
    [(S.CANCELLED, S.BOOKED), (S.CANCELLED, S.CONFIRMED), (S.COMPLETED, S.CHECKED_IN), (S.NO_SHOW, S.CHECKED_IN)],
)
def test_an_illegal_status_change_is_refused_and_writes_nothing(visit, before, after):
    Appointment.objects.filter(pk=visit.pk).update(status=before)
    with pytest.raises(services.AppointmentStatusError, match="cannot become"):
        services.change_appointment_status(appointment_id=visit.pk, status=after)
    visit.refresh_from_db()
    assert visit.status == before


def test_confirming_is_booked_to_confirmed_and_confirming_again_changes_nothing(visit):
    assert services.confirm_appointment(appointment_id=visit.pk).status == S.CONFIRMED
    assert services.confirm_appointment(appointment_id=visit.pk).status == S.CONFIRMED
    services.change_appointment_status(appointment_id=visit.pk, status=S.CHECKED_IN)
    with pytest.raises(services.AppointmentStatusError):
        services.confirm_appointment(appointment_id=visit.pk)


def test_a_cancelled_appointment_is_never_reinstated_by_the_bulk_status_change(visit):
    cancelled = AppointmentFactory(
        location=visit.location,
        service=visit.service,
        practitioner=visit.practitioner,
        start=visit.start + timedelta(hours=2),
        status=S.CANCELLED,
    )
    assert services.change_status(appointment_ids=[visit.pk, cancelled.pk], status=S.CONFIRMED) == (1, 1)
    assert dict(Appointment.objects.values_list("pk", "status")) == {visit.pk: S.CONFIRMED, cancelled.pk: S.CANCELLED}


def test_a_front_desk_booking_over_another_is_refused_by_the_service_and_writes_nothing(visit):
    with pytest.raises(services.FrontDeskBookingRefused, match="already has"):
        services.save_appointment_from_front_desk(
            appointment_id=None,
            client=ClientFactory(),
            location=visit.location,
            service=visit.service,
            practitioner=visit.practitioner,
            start=visit.start + timedelta(minutes=30),
            status=S.BOOKED,
            source="front_desk",
            override_working_hours=True,
        )
    assert Appointment.objects.count() == 1
