from cookie_consent.models import CookieGroup
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from clinic.models import Location
from clinic.ratelimits import limit

from . import requests
from .cookies import OPTIONAL_GROUPS, apply_cookie_choice, opt_out_of_sale_and_sharing
from .export import build_bundle
from .forms import PrivacyRequestForm, SmsCodeForm
from .requests_models import AuditAction
from .models import Subprocessor
from .policy import current_policy, published_versions


def _policy_page(request, policy, *, is_current):
    return render(
        request,
        "privacy/policy.html",
        {
            "policy": policy,
            "is_current": is_current,
            "versions": published_versions(),
            "subprocessors": Subprocessor.objects.filter(is_active=True),
            "locations": Location.objects.filter(is_active=True),
        },
    )


def policy(request):
    return _policy_page(request, current_policy(), is_current=True)


def policy_version(request, version):
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
        dsr = requests.submit_request(**form.cleaned_data)
        # The same page whether or not we know the address; only the reference is new.
        return render(request, "privacy/request_received.html", {"reference": dsr.reference})
    return render(request, "privacy/request_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
@limit("verification")
def request_verify(request, token):
    if request.method == "GET":
        # A button, not the link itself, does it: mail scanners follow links.
        return render(request, "privacy/request_verify.html", {"token": token})
    try:
        dsr, needs_code = requests.confirm_email(token=token)
    except requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    if needs_code:
        request.session["privacy_request_pending"] = dsr.pk
        return redirect("privacy:request_code")
    return render(request, "privacy/request_verified.html", {"request_obj": dsr})


@require_http_methods(["GET", "POST"])
@limit("verification")
def request_code(request):
    request_id = request.session.get("privacy_request_pending")
    if not request_id:
        return render(request, "privacy/request_problem.html", {"message": "Open the link in your email first."}, status=400)
    form = SmsCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            dsr = requests.confirm_sms_code(request_id=request_id, code=form.cleaned_data["code"])
        except requests.VerificationError as error:
            form.add_error("code", str(error))
        else:
            del request.session["privacy_request_pending"]
            return render(request, "privacy/request_verified.html", {"request_obj": dsr})
    return render(request, "privacy/request_code.html", {"form": form})


@limit("verification", method="GET")
def request_download(request, token):
    try:
        dsr = requests.request_from_download_token(token)
    except requests.VerificationError as error:
        return render(request, "privacy/request_problem.html", {"message": str(error)}, status=410)
    bundle = build_bundle(client_ids=list(dsr.clients.values_list("pk", flat=True)), reference=dsr.reference)
    requests.audit(AuditAction.DATA_EXPORTED, request=dsr, actor_label="requester (download link)")
    response = HttpResponse(bundle, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{dsr.reference}-data.zip"'
    return response
