"""The "choose a time" pages' day picker: a strip of the week's days, then one day's times by part of the day.

Shared by the single-service page (views) and the visit page (visit_views); no queries here.
"""

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy

T = TypeVar("T")

# Where a day's times split, in the location's local hours: before noon, before 5 PM, then the evening.
PARTS_OF_DAY = (
    (gettext_lazy("Morning"), 0, 12),
    (gettext_lazy("Afternoon"), 12, 17),
    (gettext_lazy("Evening"), 17, 24),
)


def shown_day(days: Sequence[tuple[date, int]], asked: date | None = None) -> date:
    """The day whose times are shown, from the week's (day, number of free times).

    The day asked for when it is in the week, else the first with a free time (a client
    should not land on a day with none), else the week's first day.
    """
    if asked is not None and any(day == asked for day, _ in days):
        return asked
    return next((day for day, count in days if count), days[0][0])


def by_part_of_day(items: Sequence[T], hour: Callable[[T], int]) -> list[dict[str, Any]]:
    """The day's items under Morning, Afternoon and Evening (parts without any left out), in order."""
    parts = [
        {"name": name, "slots": [item for item in items if start <= hour(item) < end]}
        for name, start, end in PARTS_OF_DAY
    ]
    return [part for part in parts if part["slots"]]
