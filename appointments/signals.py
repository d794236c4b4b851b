"""What appointments tell other apps, so they need not be imported here.

Sent after the booking has committed, with `appointment_id`.
"""

from django.dispatch import Signal

appointment_booked = Signal()
appointment_rescheduled = Signal()
