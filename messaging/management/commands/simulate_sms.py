"""Post a text "from a phone" to a running app, signed as Twilio signs it: two-way SMS without Twilio.

    manage.py simulate_sms --from +14085550143 "STOP"
    manage.py simulate_sms --from +14085550143 --url http://127.0.0.1:8001 "Can I come at 3?"

The request goes to <url>/messaging/twilio/inbound/ with Twilio's form fields, signed with
TWILIO_AUTH_TOKEN (with DEBUG on, a development token the local server shares). The running
app's SITE_URL must be the same address (it is with `make run`: SITE_URL follows PORT).
"""

import secrets

import phonenumbers
import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from twilio.request_validator import RequestValidator

from clinic.models import Location


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise CommandError(f"{value!r} is not a phone number: {exc}.") from exc
    if not phonenumbers.is_possible_number(number):
        raise CommandError(f"{value!r} is not a possible phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Command(BaseCommand):
    help = "Send a signed inbound text (as Twilio would) to the running app, e.g. --from +14085550143 STOP."

    def add_arguments(self, parser):
        parser.add_argument("body", help="The text's words, e.g. STOP, C, HELP or a question.")
        parser.add_argument("--from", dest="sender", required=True, help="The sender's phone, e.g. +14085550143.")
        parser.add_argument(
            "--to", default="", help="The clinic number texted (default: the first location's SMS number or phone)."
        )
        parser.add_argument("--url", default="", help="The running app's address (default: SITE_URL).")

    def handle(self, *args, body, sender, to, url, **options):
        token = settings.TWILIO_AUTH_TOKEN
        if not token:
            raise CommandError("TWILIO_AUTH_TOKEN is not set: the app would refuse an unsigned text.")
        if not body.strip():
            raise CommandError("The text is empty.")
        base = (url or settings.SITE_URL).rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise CommandError(f"--url must start with http:// or https://, not {base!r}.")
        endpoint = base + reverse("messaging:twilio_inbound")
        data = {
            "MessageSid": "SM" + secrets.token_hex(16),
            "AccountSid": settings.TWILIO_ACCOUNT_SID or "AC" + "0" * 32,
            "From": _e164(sender),
            "To": _e164(to) if to else self._clinic_number(),
            "Body": body,
            "NumMedia": "0",
        }
        signature = RequestValidator(token).compute_signature(endpoint, data)
        try:
            response = requests.post(endpoint, data=data, headers={"X-Twilio-Signature": signature}, timeout=10)
        except requests.RequestException as exc:
            raise CommandError(f"Could not reach {endpoint}: {exc}. Is the app running (make run)?") from exc
        if response.status_code == 403:
            raise CommandError(
                f"{endpoint} refused the signature (403). The app's SITE_URL and TWILIO_AUTH_TOKEN must match "
                "this command's (--url, or the same SITE_URL/PORT)."
            )
        if response.status_code >= 400:
            raise CommandError(f"{endpoint} answered {response.status_code}: {response.text[:200]}")
        self.stdout.write(f"Sent {data['MessageSid']} from {data['From']} to {data['To']}: {body!r}")
        reply = _twiml_reply(response.text)
        self.stdout.write(f"Reply: {reply}" if reply else "No reply (the text waits in the admin's inbox).")

    def _clinic_number(self) -> str:
        location = Location.objects.filter(is_active=True).order_by("pk").first()
        number = location and (location.sms_from_number or location.phone)
        if not number:
            raise CommandError("No location has a phone number: pass --to.")
        return str(number)


def _twiml_reply(xml: str) -> str:
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return ""
    return " ".join((message.text or "").strip() for message in root.iter("Message"))
