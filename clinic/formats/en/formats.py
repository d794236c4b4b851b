"""English date formats: the admin's one time format (clinic/timefmt.py), e.g. "Tue 1 Dec 2026, 10:00 AM PST"."""

DATETIME_FORMAT = "D j M Y, g:i A T"
TIME_FORMAT = "g:i A"
DATE_FORMAT = "D j M Y"
