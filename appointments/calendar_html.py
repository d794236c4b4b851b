"""The day calendar's table body, built as Python strings rather than template tags.

A day of 20 practitioners and 200 appointments is about a thousand cells and four hundred small
forms; through Django's template engine that took over half a second to render on this machine
(format_html's lazy wrappers, a third of that again). The page around it (controls, caption,
headings) is the template `admin/appointments/appointment/day_calendar.html`. Every value here is
escaped with html.escape (quotes included).
"""

from dataclasses import dataclass
from datetime import datetime
from html import escape as e
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.utils.safestring import SafeString, mark_safe

from .selectors import BUSY, FREE, CalendarCell, CalendarItem, DayCalendar


@dataclass
class CalendarLinks:
    add_url: str  # "" when the user may not add appointments
    status_url: str  # "" when the user may not change them
    change_url: str  # with "0" where the appointment's id goes
    csrf_token: str
    location_id: int


def _clock(moment: datetime, tz: ZoneInfo, *, zone: bool = False) -> str:
    local = moment.astimezone(tz)
    text = f"{local.hour % 12 or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{text} {local.tzname()}" if zone else text


def _time(moment: datetime, tz: ZoneInfo, *, zone: bool = False) -> str:
    return f'<time datetime="{moment.isoformat()}">{_clock(moment, tz, zone=zone)}</time>'


def _status_forms(item: CalendarItem, links: CalendarLinks, who: str) -> str:
    appointment = item.appointment
    if not (links.status_url and item.status_choices and appointment is not None):
        return ""
    action, pk = e(links.status_url), appointment.pk
    hidden = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{e(links.csrf_token)}">'
        f'<input type="hidden" name="appointment" value="{pk}">'
    )
    # Checking in part of a visit checks in the whole visit (services.change_visit_status): the client is here.
    whole = " the visit" if len(item.visit_parts) > 1 else ""
    check_in = (
        f'<form method="post" action="{action}">{hidden}<input type="hidden" name="status" value="checked_in">'
        f'<button type="submit" class="button">Check in{whole}<span class="visually-hidden"> {who}</span></button>'
        "</form>"
        if item.can_check_in
        else ""
    )
    options = "".join(f'<option value="{e(value)}">{e(label)}</option>' for value, label in item.status_choices)
    return (
        f'{check_in}<form method="post" action="{action}">{hidden}<label for="status-{pk}">Change to'
        f'<span class="visually-hidden"> (status of {who})</span></label> <select name="status" id="status-{pk}">'
        f'{options}</select> <button type="submit" class="button">Save<span class="visually-hidden"> status of '
        f"{who}</span></button></form>"
    )


def _item_html(item: CalendarItem, tz: ZoneInfo, links: CalendarLinks, *, main: bool = True) -> str:
    """main: the appointment's own block (its practitioner's column), with its id and status forms; a room's or
    device's column shows a second, plain copy (one id and one set of forms per appointment on the page)."""
    appointment = item.appointment
    if appointment is None:
        return (
            f'<p class="block {e(item.kind)}">{_time(item.start, tz)}&ndash;{_time(item.end, tz)}: {e(item.label)}</p>'
        )
    client = e(str(appointment.client))
    who = f"{client}, {_clock(appointment.start, tz)}"
    change_url = e(links.change_url.replace("/0/", f"/{appointment.pk}/"))
    if not main:
        return (
            f'<div class="block status-{e(appointment.status)}"><p><a href="{change_url}">'
            f"{_time(item.start, tz)}&ndash;{_time(item.end, tz)}: <strong>{client}</strong></a></p>"
            f"<p>{e(appointment.service.name)} with {e(appointment.practitioner.name)}</p></div>"
        )
    visit = _visit_html(item, tz)
    return (
        f'<div class="block status-{e(appointment.status)}{" visit" if visit else ""}" '
        f'id="appointment-{appointment.pk}">'
        f'<p><a href="{change_url}">'
        f"{_time(appointment.start, tz)}&ndash;{_time(appointment.end, tz)}: <strong>{client}</strong></a></p>"
        f"<p>{e(appointment.service.name)}</p>{visit}<p>Status: {e(appointment.get_status_display())}</p>"
        + (f'<p class="day-note">{e(item.note.capitalize())}</p>' if item.note else "")
        + f"{_status_forms(item, links, who)}</div>"
    )


def _visit_html(item: CalendarItem, tz: ZoneInfo) -> str:
    """A visit's block says which of its services this is and links to the others (in any column)."""
    parts = item.visit_parts
    if len(parts) < 2 or item.appointment is None:
        return ""
    number = next(n for n, part in enumerate(parts, 1) if part.pk == item.appointment.pk)
    own = item.appointment.practitioner_id
    others = ", ".join(
        f'<a href="#appointment-{part.pk}">{e(part.service.name)} at {_time(part.start, tz)}'
        f"{'' if part.practitioner_id == own else ' with ' + e(part.practitioner.name)}</a>"
        for part in parts
        if part.pk != item.appointment.pk
    )
    return f'<p class="visit-note">Visit: service {number} of {len(parts)}. Also: {others}</p>'


def _cell_html(cell: CalendarCell, tz: ZoneInfo, links: CalendarLinks) -> str:
    if cell.kind == BUSY:
        main = cell.column is None or cell.column.kind == "practitioner"
        items = "".join(_item_html(item, tz, links, main=main) for item in cell.items)
        return f'<td class="busy" rowspan="{cell.rowspan}">{items}</td>'
    if cell.kind == FREE:
        column = cell.column
        if not (links.add_url and column is not None):
            return '<td class="free">Free</td>'
        local = cell.start.astimezone(tz)
        # A room's gap leaves the practitioner to choose: the booking service assigns the room.
        fields = {"location": links.location_id, **({column.book_field: column.key} if column.book_field else {})}
        query = urlencode({**fields, "start": local.strftime("%Y-%m-%dT%H:%M")}, safe=":")
        return (
            f'<td class="free"><a href="{e(links.add_url)}?{e(query)}">Free<span class="visually-hidden">: book '
            f"{e(column.heading)} at {_clock(cell.start, tz)}</span></a></td>"
        )
    return f'<td class="off" rowspan="{cell.rowspan}"><span class="visually-hidden">Not working</span></td>'


def table_body(calendar: DayCalendar, links: CalendarLinks) -> SafeString:
    """The <tbody> rows: a time heading per row, then each column's cell (or nothing under a rowspan)."""
    tz = calendar.tz
    rows = []
    for row in calendar.rows:
        cells = "".join(_cell_html(cell, tz, links) for cell in row.cells if cell is not None)
        rows.append(f'<tr><th scope="row">{_time(row.start, tz, zone=calendar.offset_changes)}</th>{cells}</tr>')
    # Every value above went through e() (html.escape, quotes included); the rest is this module's markup.
    return mark_safe("\n".join(rows))
