"""What another app requires before an appointment changes status, and what it shows on the day's list,
so appointments never imports it.

clinical_forms registers both in its AppConfig.ready(): a treatment appointment is not checked in or
completed without the client's signed forms and a good-faith exam (or a recorded override), and the
front desk sees "forms complete" / "exam needed" beside each appointment.
"""

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Appointment

# gate(appointment=..., status=...) -> what stops the change, in the clinic's words (empty: nothing).
# The appointment may be locked (a change) or not saved yet (a front-desk booking made straight as checked in).
Gate = Callable[..., list[str]]
# note(appointments) -> {appointment id: a few words for the front desk}, in a fixed number of queries.
DayNote = Callable[[list["Appointment"]], dict[int, str]]

_gates: list[Gate] = []
_day_notes: list[DayNote] = []


def register_gate(gate: Gate) -> None:
    if gate not in _gates:
        _gates.append(gate)


def status_problems(*, appointment: "Appointment", status: str) -> list[str]:
    return [problem for gate in _gates for problem in gate(appointment=appointment, status=status)]


def register_day_note(note: DayNote) -> None:
    if note not in _day_notes:
        _day_notes.append(note)


def day_notes(appointments: Iterable["Appointment"]) -> dict[int, str]:
    appointments = list(appointments)
    notes: dict[int, list[str]] = {}
    for note in _day_notes:
        for pk, text in note(appointments).items():
            notes.setdefault(pk, []).append(text)
    return {pk: "; ".join(texts) for pk, texts in notes.items()}
