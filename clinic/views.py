import sys
from base64 import b32encode

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views import defaults
from django.views.decorators.http import require_http_methods

from . import twofactor
from .middleware import database_unavailable, is_database_unavailable
from .ratelimits import limit


def rate_limited(request, exception=None):
    return render(request, "429.html", status=429)


def server_error(request):
    """handler500: a database outage met outside a view (in a middleware) still gets the 503 page."""
    exception = sys.exc_info()[1]
    if is_database_unavailable(exception):
        return database_unavailable(request, exception)
    return defaults.server_error(request)


@require_http_methods(["GET", "POST"])
@limit("two_factor")
def staff_two_factor(request):
    """The second sign-in step for staff: enrol an authenticator app, or enter its code."""
    if not settings.STAFF_TWO_FACTOR:
        raise Http404
    if not (request.user.is_authenticated and request.user.is_staff):
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    next_url = twofactor.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    error = None
    if request.method == "POST":
        token = request.POST.get("token", "").strip().replace(" ", "")
        error = twofactor.verify_second_step(request=request, token=token)
        if error is None:
            return HttpResponseRedirect(next_url)
    # A wrong code keeps the key being enrolled; any other showing of the page makes a new one.
    device = twofactor.device_to_verify(request=request, new_key=request.method == "GET")
    context = {
        **admin.site.each_context(request),
        "title": "Two-step sign-in",
        "device": device,
        "enrolling": not device.confirmed,
        "must_enrol": twofactor.must_enrol(request.user),
        "qr_svg": mark_safe(twofactor.qr_code_svg(device)) if not device.confirmed else "",
        "key": b32encode(device.bin_key).decode() if not device.confirmed else "",
        "next": next_url,
        "error": error,
    }
    return render(request, "admin/two_factor.html", context, status=400 if error else 200)
