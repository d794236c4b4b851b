"""CSV files staff open in a spreadsheet: no cell may run as a formula."""

from collections.abc import Iterable, Mapping
from typing import Any

# A cell starting with one of these is read as a formula (or, after a tab or
# carriage return, as a cell that then starts one) by Excel, LibreOffice and
# Google Sheets: "=HYPERLINK(...)" typed into a booking form would run there.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row: Mapping[str, Any] | Iterable[Any]) -> dict[str, Any] | list[Any]:
    """The row (a list, or a dict for csv.DictWriter) with every text cell that could start a formula quoted.

    The cell keeps its text after a single quote, which spreadsheets show as text
    (OWASP's advice for CSV injection). Numbers, dates and None are left alone.
    """
    if isinstance(row, Mapping):
        return {key: _safe_cell(value) for key, value in row.items()}
    return [_safe_cell(value) for value in row]


def _safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
