"""Two-step sign-in for staff (TOTP through django-otp), on when STAFF_TWO_FACTOR is set.

Staff sign in to the admin with their password as usual (django-axes still
counts failures). Then, before any admin page:
- staff who enrolled an authenticator app must enter its current code;
- privacy officers and superusers, who can export and erase anyone's data,
  must enrol first: the page shows a QR code and the key to type in.
Other staff may enrol from the "Two-step sign-in" link in the admin header.
Codes are checked by django-otp, which also slows down repeated wrong codes.
"""

from io import BytesIO
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


# Whoever can handle privacy requests (export or erase anyone's data): the Privacy
# officer role grants these, superusers hold every permission.
PRIVACY_PERMISSIONS = ("privacy.export_datasubjectrequest", "privacy.change_datasubjectrequest")


def must_enrol(user):
    """Privacy officers and superusers may not use the admin without a second factor."""
    return any(user.has_perm(permission) for permission in PRIVACY_PERMISSIONS)


def needs_second_step(user):
    if not (settings.STAFF_TWO_FACTOR and user.is_authenticated and user.is_staff):
        return False
    if user.is_verified():
        return False
    return user_has_device(user) or must_enrol(user)


ENROLLING = "staff_two_factor_enrolling"  # session key: the device this session may confirm


def device_to_verify(*, request, new_key=False):
    """The confirmed device; else the one this session is enrolling.

    Each showing of the enrolment page (new_key) makes a fresh key, kept only in
    this session: a key seen in another session (someone holding the password
    only) can never be the one that gets confirmed.
    """
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed:
        return confirmed
    device = None
    if not new_key:
        device = TOTPDevice.objects.filter(user=user, confirmed=False, pk=request.session.get(ENROLLING)).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, confirmed=False, name=DEVICE_NAME)
        request.session[ENROLLING] = device.pk
    return device


WRONG_CODE = "That code did not match. Enter the 6-digit code your authenticator app shows now."
SLOW_DOWN = "Too many wrong codes in a row. Wait a few seconds, then enter the code your app shows."


def verify_second_step(*, request, token):
    """Check the code; on success confirm the device and mark this session verified.

    Returns None on success, else the message to show.
    """
    device = device_to_verify(request=request)
    allowed, _ = device.verify_is_allowed()  # django-otp backs off after wrong codes
    if not allowed:
        return SLOW_DOWN
    if not (token.isdigit() and len(token) == device.digits and device.verify_token(token)):
        return WRONG_CODE
    if not device.confirmed:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        request.session.pop(ENROLLING, None)
    otp_login(request, device)
    return None


def qr_code_svg(device):
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # drop the XML declaration to inline it


def safe_next(request, candidate):
    if candidate and url_has_allowed_host_and_scheme(
        candidate, {request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("admin:index")


class StaffTwoFactorMiddleware:
    """Sends signed-in staff to the second step before any admin page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.STAFF_TWO_FACTOR and self._guards(request.path) and needs_second_step(request.user):
            return redirect(f"{reverse('staff_two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def _guards(path):
        admin = reverse("admin:index")
        exempt = (reverse("admin:login"), reverse("admin:logout"))
        return path.startswith(admin) and path not in exempt


@register(Tags.security, deploy=True)
def check_staff_two_factor(app_configs, **kwargs):
    """`check --deploy` warns when production runs with staff two-step sign-in turned off."""
    if settings.STAFF_TWO_FACTOR:
        return []
    return [
        CheckWarning(
            "Staff two-step sign-in is off (STAFF_TWO_FACTOR=false).",
            hint="Anyone holding a staff password can read clients' data. Remove STAFF_TWO_FACTOR=false "
            "(it is on by default with DEBUG=false).",
            id="clinic.W001",
        )
    ]
