"""What staff may see of a text's body: never a one-time code."""

import re

from .models import MessageKind

_DIGIT = re.compile(r"\d")


def body_for_staff(*, kind: str, body: str) -> str:
    """The body as the admin, its inlines and exports show it.

    A verification code proves that the person holds the phone; a staff member
    who read it could complete someone's privacy request in their name. Its
    digits are masked and the wording kept.
    """
    if kind in (MessageKind.VERIFICATION, MessageKind.NEW_NUMBER_CODE):
        return _DIGIT.sub("•", body)
    return body
