"""Keeps personal data out of logs: phone numbers and email addresses are masked.

Installed as a filter on every log handler and as its formatter
(settings.LOGGING), so whatever a library or our code logs, message or
traceback, a full number or address never reaches the output.
"""

import logging
import re

from pythonjsonlogger.json import JsonFormatter

# Seven or more digits in a phone-like run; not dates such as 2026-11-25 13:09.
PHONE = re.compile(r"(?<![\w/])(?<!\d[-.:])(?!\d{4}-\d\d-\d\d)\+?\d[\d\s().-]{6,}\d(?![\w/])")
EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def mask(text):
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


class MaskPersonalData(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: leave it to logging's own error path
            return True
        record.msg, record.args = mask(message), None
        return True


class _MaskTracebacks:
    """Masks tracebacks and stacks (the filter already masked the message), not the timestamp."""

    def formatException(self, ei):
        return mask(super().formatException(ei))

    def formatStack(self, stack_info):
        return mask(super().formatStack(stack_info))


class MaskedFormatter(_MaskTracebacks, logging.Formatter):
    """Plain text lines (LOG_FORMAT=plain, the default)."""


class MaskedJsonFormatter(_MaskTracebacks, JsonFormatter):
    """One JSON object per line (LOG_FORMAT=json) for log shippers."""
