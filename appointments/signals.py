"""What appointments tell other apps, so they need not be imported here.

Sent after the booking has committed, with `appointment_id`.
"""

from django.dispatch import Signal

appointment_booked = Signal()
appointment_rescheduled = Signal()
# The clinic (the front desk, in the admin) cancelled an upcoming appointment: the client is told.
appointment_cancelled_by_clinic = Signal()
# A booked time became free (a cancellation, or the old time of a reschedule), or a practitioner's
# working span opened (new or longer hours, a lifted closure: one per date, service_id None), sent after
# commit with location_id, practitioner_id, service_id, start and end (the freed instants): the waitlist
# offers its start.
time_freed = Signal()
