"""Twilio webhooks. Thin: check the signature, parse the form, call one service."""

import logging
import re

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.exceptions import Ratelimited
from twilio.twiml.messaging_response import MessagingResponse

from clinic.queueing import enqueue
from clinic.ratelimits import client_ip, limit, sms_sender_key

from . import delivery, marketing, preferences
from .forms import PreferencesForm, PreferencesLinkForm
from .inbound import handle_inbound_sms
from .keywords import clean_text
from .tasks import email_preferences_link
from .twilio_signature import is_from_twilio

logger = logging.getLogger(__name__)
SID = re.compile(r"[A-Za-z0-9]{2,64}")


def _within_limits(request, *names):
    """Count this webhook call against its rate limits; True while under them all.

    Called only after the signature checked out, so unsigned traffic uses up no
    sender's budget (and cannot make a real STOP answer 429).
    """

    def check(request):
        return True

    for name in names:
        check = limit(name, key=sms_sender_key if name == "sms_sender" else "ip")(check)
    try:
        return check(request)
    except Ratelimited:
        return False


def _field(form, name, *, multiline=False):
    """A webhook field without NUL and control characters (PostgreSQL refuses NUL in text)."""
    return clean_text(form.get(name, ""), keep_newlines=multiline)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature replaces it.
@require_POST
def twilio_status(request):
    if not is_from_twilio(request):
        return HttpResponseForbidden("Invalid signature.")
    if not _within_limits(request, "webhook"):
        return HttpResponse("Too many requests.", status=429)
    sid, status = _field(request.POST, "MessageSid"), _field(request.POST, "MessageStatus")
    if not SID.fullmatch(sid) or not status or len(status) > 40:
        return HttpResponseBadRequest("MessageSid and MessageStatus are required.")
    text = request.GET.get("text", "")
    known = delivery.apply_delivery_status(
        sid=sid,
        provider_status=status,
        error_code=_field(request.POST, "ErrorCode")[:20],
        message_id=int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None,
        to=_field(request.POST, "To")[:40],
    )
    if not known:
        logger.info("Status callback for an unknown message SID")
    return HttpResponse(status=204)


@csrf_exempt  # Twilio cannot send a CSRF token; the request signature replaces it.
@require_POST
def twilio_inbound(request):
    # The signature first: nothing unsigned reaches a rate-limit counter or the database.
    if not is_from_twilio(request):
        return HttpResponseForbidden("Invalid signature.")
    form = request.POST
    sid, sender, body = _field(form, "MessageSid"), _field(form, "From"), _field(form, "Body", multiline=True)
    if not SID.fullmatch(sid) or not sender or len(sender) > 40 or len(body) > 2000:
        return HttpResponseBadRequest("MessageSid, From and Body are required.")
    within = _within_limits(request, "webhook", "sms_sender")
    # Over the limit, the text is still stored and a STOP still applied: a STOP is never lost. Its single
    # confirmation still goes (it ends a runaway exchange); everything else is answered 429.
    result = handle_inbound_sms(
        message_sid=sid, from_number=sender, to_number=_field(form, "To")[:40], body=body, over_limit=not within
    )
    if not within and not result.reply:
        return HttpResponse("Too many requests.", status=429)
    response = MessagingResponse()
    if result.reply:
        response.message(result.reply)
    return HttpResponse(str(response), content_type="application/xml")


@csrf_exempt  # RFC 8058: mail clients POST here with no session; the signed token is the proof.
@require_http_methods(["GET", "POST"])
@limit("verification")
def unsubscribe(request, token):
    _, address = marketing.client_from_unsubscribe_token(token)
    if address is None:
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
    saved, update = False, None
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            update = preferences.update_preferences(
                client=client,
                choices=form.choices(),
                ip_address=client_ip(request) or None,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            saved = True
    current = preferences.current_preferences(client)
    form = PreferencesForm(initial={purpose.value: value for purpose, value in current.items()})
    context = {"form": form, "saved": saved, "update": update, "client": client, "start_number": _start_number(client)}
    return render(request, "messaging/preferences.html", context)


def _start_number(client):
    number = client.preferred_location.sms_from_number if client.preferred_location_id else ""
    number = number or settings.TWILIO_FROM_NUMBER
    return number.as_national if hasattr(number, "as_national") else (str(number) or gettext("our number"))


@require_http_methods(["GET", "POST"])
@limit("verification")
def email_resubscribe(request, token):
    if request.method == "POST":
        client = preferences.confirm_email_resubscribe(
            token=token, ip_address=client_ip(request) or None, user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        if client is None:
            return render(request, "messaging/email_resubscribe.html", {"invalid": True}, status=404)
        return render(request, "messaging/email_resubscribe.html", {"done": True})
    return render(request, "messaging/email_resubscribe.html")


@require_http_methods(["GET", "POST"])
@limit("verification")
def email_marketing_confirm(request, token):
    # GET shows the button and changes nothing (mail scanners follow links); the POST confirms.
    if request.method == "POST":
        client = preferences.confirm_email_marketing(
            token=token, ip_address=client_ip(request) or None, user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        if client is None:
            return render(request, "messaging/email_marketing_confirm.html", {"invalid": True}, status=404)
        return render(request, "messaging/email_marketing_confirm.html", {"done": True})
    if not preferences.check_email_marketing_confirmation(token):
        return render(request, "messaging/email_marketing_confirm.html", {"invalid": True}, status=404)
    return render(request, "messaging/email_marketing_confirm.html")


@require_http_methods(["GET", "POST"])
@limit("privacy_request")
def preferences_request_link(request):
    form = PreferencesLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        enqueue(email_preferences_link, form.cleaned_data["email"])
        # The same answer whether or not we know the address.
        return render(request, "messaging/preferences_request.html", {"sent": True})
    return render(request, "messaging/preferences_request.html", {"form": form})
