"""What messaging tells other apps, so they need not be imported here.

Sent after the change has committed.
"""

from django.dispatch import Signal

# A number went on the SMS opt-out list (STOP, a revocation in other words, the carrier, staff,
# a privacy request), sent with `phone` (E.164): the waitlist withdraws any offer waiting on it.
sms_opted_out = Signal()
