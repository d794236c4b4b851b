from django.conf import settings

from .branding import brand


def clinic(request):
    return {
        "clinic_name": settings.CLINIC_NAME,
        "brand": brand(),
        "cutoff_hours": settings.BOOKING_CHANGE_CUTOFF_HOURS,
        "staff_two_factor": settings.STAFF_TWO_FACTOR,
        "page_path": request.get_full_path(),  # the cookie banner's "next"
    }
