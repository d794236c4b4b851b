"""The one base class for refusals by a business rule.

A service that refuses because a rule of the clinic says no (a time is taken, a request is
closed, a STOP stands) raises a subclass of BusinessRuleError whose message is written for
the person who asked, client or staff: views and admin actions show str(error) and never
turn it into a 500. Programming errors and unreadable input keep Python's own exceptions
(ValueError for a parse error, TypeError, ...), so a broad catch of this class never hides
a bug.
"""


class BusinessRuleError(Exception):
    """A rule refuses what was asked; str(error) is safe and meant to be shown to the person."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
