"""Twilio webhooks. Thin: check the signature, parse the form, call one service."""

import logging

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from twilio.twiml.messaging_response import MessagingResponse

from clinic.queueing import enqueue
from clinic.ratelimits import client_ip, limit, sms_sender_key

from . import marketing, preferences, services
from .forms import PreferencesForm, PreferencesLinkForm
from .inbound import handle_inbound_sms
from .tasks import email_preferences_link
from .twilio_signature import is_from_twilio

logger = logging.getLogger(__name__)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature replaces it.
@require_POST
@limit("webhook")
def twilio_status(request):
    if not is_from_twilio(request):
        return HttpResponseForbidden("Invalid signature.")
    sid, status = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid or not status or len(sid) > 64:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.")
    text = request.GET.get("text", "")
    known = services.apply_delivery_status(
        sid=sid,
        provider_status=status,
        error_code=request.POST.get("ErrorCode", ""),
        message_id=int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None,
        to=request.POST.get("To", ""),
    )
    if not known:
        logger.info("Status callback for an unknown message SID")
    return HttpResponse(status=204)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature replaces it.
@require_POST
@limit("webhook")
@limit("sms_sender", key=sms_sender_key)
def twilio_inbound(request):
    if not is_from_twilio(request):
        return HttpResponseForbidden("Invalid signature.")
    form = request.POST
    sid, sender, body = form.get("MessageSid", ""), form.get("From", ""), form.get("Body", "")
    if not sid or len(sid) > 64 or not sender or len(sender) > 40 or len(body) > 2000:
        return HttpResponseBadRequest("MessageSid, From and Body are required.")
    result = handle_inbound_sms(message_sid=sid, from_number=sender, to_number=form.get("To", "")[:40], body=body)
    response = MessagingResponse()
    if result.reply:
        response.message(result.reply)
    return HttpResponse(str(response), content_type="application/xml")


@csrf_exempt  # RFC 8058: mail clients POST here with no session; the signed token is the proof.
@require_http_methods(["GET", "POST"])
@limit("verification")
def unsubscribe(request, token):
    client, _ = marketing.client_from_unsubscribe_token(token)
    if client is None:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        marketing.unsubscribe_email(
            token=token,
            ip_address=client_ip(request) or None,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        return render(request, "messaging/unsubscribe.html", {"done": True})
    return render(request, "messaging/unsubscribe.html")


@require_http_methods(["GET", "POST"])
def preferences_view(request, token):
    try:
        client = preferences.client_from_preferences_token(token)
    except preferences.LinkExpired:
        return render(request, "messaging/preferences_link_problem.html", {"expired": True}, status=410)
    except preferences.LinkInvalid:
        return render(request, "messaging/preferences_link_problem.html", {}, status=404)
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            preferences.update_preferences(
                client=client,
                choices=form.choices(),
                ip_address=client_ip(request) or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            saved = True
    current = preferences.current_preferences(client)
    form = PreferencesForm(initial={purpose.value: value for purpose, value in current.items()})
    return render(request, "messaging/preferences.html", {"form": form, "saved": saved, "client": client})


@require_http_methods(["GET", "POST"])
@limit("privacy_request")
def preferences_request_link(request):
    form = PreferencesLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enqueue(email_preferences_link, form.cleaned_data["email"])
        # The same answer whether or not we know the address.
        return render(request, "messaging/preferences_request.html", {"sent": True})
    return render(request, "messaging/preferences_request.html", {"form": form})
