"""Reads of appointments for the front desk's day calendar and the practitioners' calendar feeds."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext

from clinic.models import Location

from .availability import local_day_bounds, wall_to_instant
from .models import (
    Appointment,
    AppointmentStatus,
    AssignedUnit,
    LocationClosure,
    Practitioner,
    ResourceUnit,
    TimeOff,
    WorkingHours,
)

# What a block in the day calendar is: one of the location's appointments, the practitioner's
# time off, or their appointment at another location (shown without client or service).
APPOINTMENT, TIME_OFF, ELSEWHERE = "appointment", "time_off", "elsewhere"
# What a cell is: holds blocks, a bookable gap, or outside the column's working hours.
BUSY, FREE, OFF = "busy", "free", "off"


@dataclass
class CalendarItem:
    kind: str
    start: datetime
    end: datetime  # when the column is free again (an appointment's clean-up time included)
    appointment: Appointment | None = None
    label: str = ""
    # Filled in by the admin view: what the front desk may change the status to from here.
    status_choices: list[tuple[str, str]] = field(default_factory=list)
    can_check_in: bool = False
    # A visit of several services: its active appointments that day, in order (this one among them).
    visit_parts: list[Appointment] = field(default_factory=list)
    # What other apps tell the front desk about it (status_gates.day_notes: "forms complete; exam needed").
    note: str = ""


@dataclass
class ColumnDay:
    """One column of the calendar and what fills it, as a column source returns it.

    `kind` says what the column is ("practitioner"); `book_field` is the appointment form's field a gap
    pre-fills with `key` ("practitioner"), or "" when a gap cannot be booked from this column.
    """

    kind: str
    key: int
    heading: str
    subheading: str
    book_field: str
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)  # when it can be booked
    items: list[CalendarItem] = field(default_factory=list)


@dataclass
class CalendarCell:
    kind: str
    start: datetime
    rowspan: int = 1
    items: list[CalendarItem] = field(default_factory=list)
    column: ColumnDay | None = None


@dataclass
class CalendarRow:
    start: datetime
    local: datetime
    cells: list[CalendarCell | None]  # None: covered by a cell of an earlier row (rowspan)


@dataclass
class DayCalendar:
    location: Location
    day: date
    tz: ZoneInfo
    columns: list[ColumnDay]
    rows: list[CalendarRow]
    row_minutes: int
    closed_reason: str | None
    cancelled: int
    offset_changes: bool  # a daylight-saving day: row labels carry the zone's abbreviation


@dataclass
class DayContext:
    """What every column source gets: the day's bounds and the location's appointments, read once."""

    location: Location
    day: date
    tz: ZoneInfo
    start: datetime
    end: datetime
    appointments: list[Appointment]


ColumnSource = Callable[[DayContext], list[ColumnDay]]


def _practitioner_columns(context: DayContext) -> list[ColumnDay]:
    """A column per practitioner who works at the location that day or has an appointment there.

    Three queries whatever the number of practitioners or appointments.
    """
    day, tz = context.day, context.tz
    columns: dict[int, ColumnDay] = {}

    def column(practitioner: Practitioner) -> ColumnDay:
        if practitioner.pk not in columns:
            columns[practitioner.pk] = ColumnDay(
                kind="practitioner",
                key=practitioner.pk,
                heading=practitioner.name,
                subheading=practitioner.title,
                book_field="practitioner",
            )
        return columns[practitioner.pk]

    hours = WorkingHours.objects.filter(
        location=context.location, weekday=day.weekday(), practitioner__is_active=True
    ).select_related("practitioner")
    for span in hours:
        column(span.practitioner).spans.append(
            (wall_to_instant(day, span.start_time, tz), wall_to_instant(day, span.end_time, tz))
        )
    for appointment in context.appointments:
        column(appointment.practitioner).items.append(
            CalendarItem(APPOINTMENT, appointment.start, appointment.occupied_until, appointment)
        )
    ids = list(columns)
    for off in TimeOff.objects.filter(practitioner__in=ids, start__lt=context.end, end__gt=context.start):
        columns[off.practitioner_id].items.append(
            CalendarItem(TIME_OFF, max(off.start, context.start), min(off.end, context.end), label="Time off")
        )
    elsewhere = (
        Appointment.objects.filter(practitioner__in=ids, start__lt=context.end, occupied_until__gt=context.start)
        .exclude(location=context.location)
        .exclude(status=AppointmentStatus.CANCELLED)
        .values_list("practitioner_id", "start", "occupied_until")
    )
    for practitioner_id, start, until in elsewhere:
        columns[practitioner_id].items.append(CalendarItem(ELSEWHERE, start, until, label="Booked at another location"))
    return sorted(columns.values(), key=lambda c: (c.heading, c.key))


def _resource_columns(context: DayContext) -> list[ColumnDay]:
    """A column per room or device of the location (in service, or held that day), its holds as blocks.

    Free while anyone works at the location that day. A gap opens the add form at that time with no
    practitioner chosen (rooms and devices are assigned by the booking service, not picked). Three queries.
    """
    day, tz = context.day, context.tz
    holds = list(
        AssignedUnit.objects.filter(
            unit__location=context.location, start__lt=context.end, occupied_until__gt=context.start
        ).exclude(appointment__status=AppointmentStatus.CANCELLED)
    )
    held_ids = {hold.unit_id for hold in holds}
    units = ResourceUnit.objects.filter(location=context.location).select_related("resource_type")
    columns = {
        unit.pk: ColumnDay(
            kind="resource", key=unit.pk, heading=unit.name, subheading=unit.resource_type.name, book_field=""
        )
        for unit in units
        if unit.is_active or unit.pk in held_ids
    }
    spans = [
        (wall_to_instant(day, start, tz), wall_to_instant(day, end, tz))
        for start, end in WorkingHours.objects.filter(
            location=context.location, weekday=day.weekday(), practitioner__is_active=True
        ).values_list("start_time", "end_time")
    ]
    appointments = {appointment.pk: appointment for appointment in context.appointments}
    for column in columns.values():
        column.spans = list(spans)
    for hold in holds:
        appointment = appointments.get(hold.appointment_id)
        if hold.unit_id in columns and appointment is not None:
            columns[hold.unit_id].items.append(CalendarItem(APPOINTMENT, hold.start, hold.occupied_until, appointment))
    return sorted(columns.values(), key=lambda c: (c.subheading, c.heading, c.key))


# The kinds of column the calendar can show, in order; the calendar's "Show" choice offers every kind listed.
COLUMN_SOURCES: dict[str, tuple[str, ColumnSource]] = {
    "practitioner": ("Practitioners", _practitioner_columns),
    "resource": ("Rooms and devices", _resource_columns),
}


def _location_appointments(location: Location, start: datetime, end: datetime) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
        .select_related("client", "service", "practitioner")
        # The calendar shows a client's name only: their contact details and the notes stay unread.
        .defer("notes", "client__mobile_phone", "client__email")
        .order_by("start", "pk")
    )


def day_calendar(*, location: Location, day: date, kinds: Sequence[str] = ("practitioner",)) -> DayCalendar:
    """The location's day as rows of time (the location's wall clock) by columns (practitioners...).

    A constant number of queries: the location's appointments, closure, and three per column source.
    Arithmetic is on UTC instants, so a daylight-saving day has exactly the hours it has.
    """
    tz = location.tzinfo
    start, end = local_day_bounds(day, tz)
    everything = list(_location_appointments(location, start, end))
    active = [a for a in everything if a.status != AppointmentStatus.CANCELLED]
    context = DayContext(location=location, day=day, tz=tz, start=start, end=end, appointments=active)
    columns = [column for kind in kinds if kind in COLUMN_SOURCES for column in COLUMN_SOURCES[kind][1](context)]
    visits: dict[int, list[Appointment]] = {}
    for appointment in active:  # in start order
        if appointment.visit_id is not None:
            visits.setdefault(appointment.visit_id, []).append(appointment)
    for column in columns:
        for item in column.items:
            if item.appointment is not None and item.appointment.visit_id in visits:
                item.visit_parts = visits[item.appointment.visit_id]
    closure = LocationClosure.objects.filter(location=location, date=day).first()
    closed_reason = (closure.reason or "Closed") if closure else None
    row_minutes = settings.BOOKING_SLOT_GRID_MINUTES
    rows = _rows(columns, start, end, tz, row_minutes)
    _fill(columns, rows, timedelta(minutes=row_minutes), bookable=closure is None)
    return DayCalendar(
        location=location,
        day=day,
        tz=tz,
        columns=columns,
        rows=rows,
        row_minutes=row_minutes,
        closed_reason=closed_reason,
        cancelled=len(everything) - len(active),
        offset_changes=start.astimezone(tz).utcoffset() != (end - timedelta(seconds=1)).astimezone(tz).utcoffset(),
    )


def _rows(
    columns: list[ColumnDay], day_start: datetime, day_end: datetime, tz: ZoneInfo, minutes: int
) -> list[CalendarRow]:
    """Rows from the earliest working hour or block to the latest, on the slot grid of the wall clock."""
    edges = [edge for c in columns for span in c.spans for edge in span] + [
        edge for c in columns for item in c.items for edge in (item.start, item.end)
    ]
    if not edges:
        return []
    first, last = max(min(edges), day_start), min(max(edges), day_end)
    local = first.astimezone(tz)
    first = local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0).astimezone(UTC)
    step = timedelta(minutes=minutes)
    rows = []
    moment = first
    while moment < last:
        rows.append(CalendarRow(start=moment, local=moment.astimezone(tz), cells=[None] * len(columns)))
        moment += step
    return rows


def _fill(columns: list[ColumnDay], rows: list[CalendarRow], step: timedelta, *, bookable: bool) -> None:
    """Place each column's blocks on the rows (overlapping blocks share a cell), then its gaps."""
    if not rows:
        return
    first = rows[0].start

    def index(moment: datetime, *, up: bool) -> int:
        whole, rest = divmod(moment - first, step)
        return max(0, min(len(rows), whole + (1 if up and rest else 0)))

    for i, column in enumerate(columns):
        covered_until = 0
        current: CalendarCell | None = None
        for item in sorted(column.items, key=lambda item: (item.start, item.end)):
            top, bottom = index(item.start, up=False), index(item.end, up=True)
            bottom = max(bottom, min(top + 1, len(rows)))
            if top >= len(rows):
                continue
            if current is not None and top < covered_until:
                current.items.append(item)
                if bottom > covered_until:
                    current.rowspan += bottom - covered_until
                    covered_until = bottom
                continue
            current = CalendarCell(BUSY, rows[top].start, rowspan=bottom - top, items=[item], column=column)
            rows[top].cells[i] = current
            covered_until = bottom
        taken = {r for row_index, row in enumerate(rows) if (cell := row.cells[i]) for r in _span(row_index, cell)}
        off: CalendarCell | None = None
        for row_index, row in enumerate(rows):
            if row_index in taken:
                off = None
                continue
            if bookable and any(s <= row.start < e for s, e in column.spans):
                row.cells[i] = CalendarCell(FREE, row.start, column=column)
                off = None
            elif off is not None:
                off.rowspan += 1
            else:
                off = row.cells[i] = CalendarCell(OFF, row.start, column=column)


def _span(row_index: int, cell: CalendarCell) -> range:
    return range(row_index, row_index + cell.rowspan)


def practitioner_feed_appointments(
    *, practitioner: Practitioner, now: datetime, days_back: int, days_ahead: int
) -> QuerySet[Appointment]:
    """The practitioner's appointments from `days_back` days ago to `days_ahead` days ahead, cancelled ones too.

    Cancelled ones stay in the feed marked CANCELLED, so a subscribed calendar removes them.
    """
    return (
        Appointment.objects.filter(
            practitioner=practitioner,
            start__gte=now - timedelta(days=days_back),
            start__lt=now + timedelta(days=days_ahead),
        )
        .select_related("client", "service", "location")
        .only(
            "pk",
            "start",
            "end",
            "status",
            "updated_at",
            "created_at",
            "client__first_name",
            "service__name",
            "location__name",
            "location__timezone",
        )
        .order_by("start", "pk")
    )


@dataclass
class ServiceGroup:
    heading: str
    services: list = field(default_factory=list)


def services_by_category(location: Location) -> list[ServiceGroup]:
    """The location's bookable services under their categories, in the clinic's order (the admin's
    positions), not alphabetical; services without a category last, under "Other services"."""
    from django.db.models import F

    from .models import Service

    offered = (
        Service.objects.filter(is_active=True, locations=location)
        .select_related("category")
        .order_by(F("category__position").asc(nulls_last=True), "category__name", "position", "name")
    )
    groups: list[ServiceGroup] = []
    for service in offered:
        heading = service.category.name if service.category else gettext("Other services")
        if not groups or groups[-1].heading != heading:
            groups.append(ServiceGroup(heading))
        groups[-1].services.append(service)
    return groups


def visits_service_names(visit_ids: "set[int]") -> dict[int, str]:
    """{visit id: its active services in order, "HydraFacial + Chemical peel"}; one query (none for no visits)."""
    if not visit_ids:
        return {}
    names: dict[int, list[str]] = {}
    rows = (
        Appointment.objects.filter(visit_id__in=visit_ids)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("visit_id", "start", "pk")
        .values_list("visit_id", "service__name")
    )
    for visit_id, name in rows:
        names.setdefault(visit_id, []).append(name)
    return {visit_id: " + ".join(parts) for visit_id, parts in names.items()}


def visit_service_names(appointment: Appointment) -> str | None:
    """The services of the appointment's visit, in order; None for a single-service booking."""
    if appointment.visit_id is None:
        return None
    return visits_service_names({appointment.visit_id}).get(appointment.visit_id)


def practitioner_feed_location_ids(
    *, practitioner: Practitioner, now: datetime, days_back: int, days_ahead: int
) -> set[int]:
    """Every location the practitioner's feed can show: where they work, and where its appointments are."""
    booked = Appointment.objects.filter(
        practitioner=practitioner,
        start__gte=now - timedelta(days=days_back),
        start__lt=now + timedelta(days=days_ahead),
    ).values_list("location_id", flat=True)
    return set(practitioner.locations.values_list("pk", flat=True)) | set(booked.order_by().distinct())
