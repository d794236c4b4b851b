from cookie_consent.models import CookieGroup
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from clinic.languages import current_language
from clinic.models import Location
from clinic.ratelimits import client_ip, limit

from . import registry, subject_requests
from .cookies import OPTIONAL_GROUPS, apply_cookie_choice, opt_out_of_sale_and_sharing
from .export import build_bundle
from .forms import PrivacyRequestForm, SmsCodeForm
from .models import Subprocessor
from .policy import current_policy, published_versions, text_in


def _policy_page(request, policy, *, is_current):
    body, body_language = text_in(policy, current_language()) if policy is not None else ("", "")
    return render(
        request,
        "privacy/policy.html",
        {
            "policy": policy,
            "body": body,
            "body_language": body_language,
            "is_current": is_current,
            "versions": published_versions(),
            # A subprocessor of a feature that is switched off (Stripe without payments) is not named.
            "subprocessors": Subprocessor.objects.filter(is_active=True).exclude(
                name__in=registry.subprocessors_switched_off()
            ),
            "locations": Location.objects.filter(is_active=True),
        },
    )


def policy(request):
    return _policy_page(request, current_policy(), is_current=True)


def policy_version(request, version):
    if "\x00" in version or len(version) > 50:  # PostgreSQL refuses a NUL in a query: not a version, not a 500
        raise Http404("No such version.")
    chosen = get_object_or_404(published_versions(), version=version)
    current = current_policy()
    return _policy_page(request, chosen, is_current=current is not None and chosen.pk == current.pk)


def _next_url(request):
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@require_POST
def cookie_choice(request):
    """The banner's buttons and the settings form post here (CSRF-protected, never a GET)."""
    choice = request.POST.get("choice", "")
    if choice == "accept_all":
        accepted = set(OPTIONAL_GROUPS)
    elif choice == "reject_all":
        accepted = set()
    elif choice == "save":
        accepted = {group for group in OPTIONAL_GROUPS if request.POST.get(group) == "on"}
    else:
        return HttpResponseBadRequest("Unknown choice.")
    response = HttpResponseRedirect(_next_url(request))
    apply_cookie_choice(request=request, response=response, accepted=accepted)
    return response


def cookie_settings(request):
    return render(
        request,
        "privacy/cookie_settings.html",
        {"groups": CookieGroup.objects.filter(is_required=False).order_by("ordering"), "next": _next_url(request)},
    )


@require_http_methods(["GET", "POST"])
def privacy_choices(request):
    """'Your Privacy Choices': opt out of sale and sharing, no identity check needed (CCPA)."""
    if request.method == "POST":
        response = HttpResponseRedirect(reverse("privacy:choices") + "?done=1")
        opt_out_of_sale_and_sharing(request=request, response=response)
        return response
    return render(request, "privacy/privacy_choices.html", {"done": request.GET.get("done") == "1"})


@require_http_methods(["GET", "POST"])
@limit("privacy_request")
def request_form(request):
    form = PrivacyRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        dsr = subject_requests.submit_request(**form.cleaned_data)
        # The same page whether or not we know the address; only the reference is new.
        return render(request, "privacy/request_received.html", {"reference": dsr.reference})
    return render(request, "privacy/request_form.html", {"form": form})


VERIFIED_IN_SESSION = "privacy_verified_requests"  # requests this browser verified: their export opens here


def _bind_to_session(request, dsr):
    verified = [pk for pk in request.session.get(VERIFIED_IN_SESSION, []) if pk != dsr.pk][-9:]
    request.session[VERIFIED_IN_SESSION] = verified + [dsr.pk]


def _verified_here(request, dsr):
    return dsr.pk in request.session.get(VERIFIED_IN_SESSION, [])


@require_http_methods(["GET", "POST"])
@limit("verification")
def request_verify(request, token):
    if request.method == "GET":
        # A button, not the link itself, does it: mail scanners follow links.
        return render(request, "privacy/request_verify.html", {"token": token})
    try:
        dsr, still_needed = subject_requests.confirm_email(token=token)
    except subject_requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    if still_needed == "code":
        request.session["privacy_request_pending"] = dsr.pk
        return redirect("privacy:request_code")
    if still_needed == "staff":
        return render(request, "privacy/request_staff_check.html", {"request_obj": dsr})
    _bind_to_session(request, dsr)
    return render(request, "privacy/request_verified.html", {"request_obj": dsr})


def _no_pending_request(request):
    return render(
        request, "privacy/request_problem.html", {"message": gettext("Open the link in your email first.")}, status=400
    )


@require_http_methods(["GET", "POST"])
@limit("verification")
def request_code(request):
    request_id = request.session.get("privacy_request_pending")
    if not isinstance(request_id, int):
        return _no_pending_request(request)
    form = SmsCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dsr = subject_requests.confirm_sms_code(request_id=request_id, code=form.cleaned_data["code"])
        except subject_requests.VerificationError as error:
            form.add_error("code", str(error))
        else:
            del request.session["privacy_request_pending"]
            _bind_to_session(request, dsr)
            return render(request, "privacy/request_verified.html", {"request_obj": dsr})
    return render(request, "privacy/request_code.html", {"form": form, "resent": request.GET.get("resent") == "1"})


@require_POST
@limit("verification")
def request_code_new(request):
    """Send a new code, or (the requester cannot receive our texts) hand the request to staff.

    Rate limited per address, and per request: after subject_requests.MAX_CODES_SENT codes staff check identity instead.
    """
    request_id = request.session.get("privacy_request_pending")
    if not isinstance(request_id, int):
        return _no_pending_request(request)
    try:
        if request.POST.get("action") == "resend":
            dsr = subject_requests.resend_sms_code(request_id=request_id)
            if not dsr.identity_check_needed:
                return redirect(reverse("privacy:request_code") + "?resent=1")
        else:
            dsr = subject_requests.ask_for_identity_check(request_id=request_id)
    except subject_requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    del request.session["privacy_request_pending"]
    return render(request, "privacy/request_staff_check.html", {"request_obj": dsr})


@require_http_methods(["GET", "POST"])
@limit("verification")
def request_download(request, token):
    """The export: a button (mail scanners follow links), in the verifying browser or after a fresh code; once."""
    try:
        dsr = subject_requests.request_from_download_token(token)
    except subject_requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    action = request.POST.get("action", "")
    context = {
        "bound": _verified_here(request, dsr),
        "code_sent": request.session.get("privacy_download_code_sent", {}).get(str(dsr.pk), ""),
    }
    form = SmsCodeForm(request.POST if action == "code" else None)
    context["form"] = form
    proof = "verified in this browser"
    if request.method == "POST" and action == "send_code" and not context["bound"]:
        sent = subject_requests.send_download_code(request_id=dsr.pk)
        if sent is None:
            context["error"] = gettext("Too many codes were asked for. Please contact the clinic.")
        else:
            request.session["privacy_download_code_sent"] = {str(dsr.pk): sent}
            context["code_sent"] = sent
        return render(request, "privacy/request_download.html", context)
    if request.method == "POST" and action == "code" and not context["bound"]:
        if not form.is_valid():
            return render(request, "privacy/request_download.html", context)
        try:
            subject_requests.confirm_download_code(request_id=dsr.pk, code=form.cleaned_data["code"])
        except subject_requests.VerificationError as error:
            form.add_error("code", str(error))
            return render(request, "privacy/request_download.html", context)
        _bind_to_session(request, dsr)
        context["bound"], proof = True, "fresh code"
    if request.method != "POST" or not context["bound"] or action not in ("download", "code"):
        return render(request, "privacy/request_download.html", context, status=200 if request.method == "GET" else 403)
    try:
        dsr = subject_requests.use_download_link(
            token=token, proof=proof, ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
    except subject_requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    bundle = build_bundle(client_ids=list(dsr.clients.values_list("pk", flat=True)), reference=dsr.reference)
    response = HttpResponse(bundle, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{dsr.reference}-data.zip"'
    response["Cache-Control"] = "no-store"
    return response
