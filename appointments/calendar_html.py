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
    check_in = (
        f'<form method="post" action="{action}">{hidden}<input type="hidden" name="status" value="checked_in">'
        f'<button type="submit" class="button">Check in<span class="visually-hidden"> {who}</span></button></form>'
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


def _item_html(item: CalendarItem, tz: ZoneInfo, links: CalendarLinks) -> str:
    appointment = item.appointment
    if appointment is None:
        return (
            f'<p class="block {e(item.kind)}">{_time(item.start, tz)}&ndash;{_time(item.end, tz)}: {e(item.label)}</p>'
        )
    client = e(str(appointment.client))
    who = f"{client}, {_clock(appointment.start, tz)}"
    change_url = e(links.change_url.replace("/0/", f"/{appointment.pk}/"))
    return (
        f'<div class="block status-{e(appointment.status)}" id="appointment-{appointment.pk}">'
        f'<p><a href="{change_url}">'
        f"{_time(appointment.start, tz)}&ndash;{_time(appointment.end, tz)}: <strong>{client}</strong></a></p>"
        f"<p>{e(appointment.service.name)}</p><p>Status: {e(appointment.get_status_display())}</p>"
        + (f'<p class="day-note">{e(item.note.capitalize())}</p>' if item.note else "")
        + f"{_status_forms(item, links, who)}</div>"
    )


def _cell_html(cell: CalendarCell, tz: ZoneInfo, links: CalendarLinks) -> str:
    if cell.kind == BUSY:
        items = "".join(_item_html(item, tz, links) for item in cell.items)
        return f'<td class="busy" rowspan="{cell.rowspan}">{items}</td>'
    if cell.kind == FREE:
        column = cell.column
        if not (links.add_url and column is not None and column.book_field):
            return '<td class="free">Free</td>'
        local = cell.start.astimezone(tz)
        query = urlencode(
            {"location": links.location_id, column.book_field: column.key, "start": local.strftime("%Y-%m-%dT%H:%M")},
            safe=":",
        )
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
