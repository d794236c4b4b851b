"""Keeps personal data out of logs: phone numbers and email addresses are masked.

Installed as a filter on every log handler (settings.LOGGING), so whatever a
library or our code logs, a full number or address never reaches the output.
"""

import logging
import re

PHONE = re.compile(r"(?<![\w/])\+?\d[\d\s().-]{6,}\d(?![\w/])")
EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def mask(text):
    text = EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE.sub(lambda m: "***" + re.sub(r"\D", "", m.group(0))[-2:], text)


class MaskPersonalData(logging.Filter):
    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error path
            return True
        record.msg, record.args = mask(message), None
        return True
