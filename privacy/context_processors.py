from django.conf import settings

from .cookies import tracking_state


def tracking(request):
    """What the page may load: a tag is rendered only when its group is accepted AND its id is set."""
    state = tracking_state(request)
    return {
        "tracking": state,
        "ga_measurement_id": settings.GA_MEASUREMENT_ID if state["analytics"] else "",
        "gtm_container_id": settings.GTM_CONTAINER_ID if state["analytics"] else "",
        "meta_pixel_id": settings.META_PIXEL_ID if state["marketing"] else "",
    }
