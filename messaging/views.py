"""Twilio webhooks. Thin: check the signature, parse the form, call one service."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .twilio_signature import is_from_twilio

logger = logging.getLogger(__name__)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature replaces it.
@require_POST
def twilio_status(request):
    if not is_from_twilio(request):
        return HttpResponseForbidden("Invalid signature.")
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid or not status or len(sid) > 64:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.")
    known = services.apply_delivery_status(sid=sid, provider_status=status, error_code=request.POST.get("ErrorCode", ""))
    if not known:
        logger.info("Status callback for an unknown message SID")
    return HttpResponse(status=204)
