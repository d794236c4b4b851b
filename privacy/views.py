from cookie_consent.models import CookieGroup
from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from clinic.models import Location

from .cookies import OPTIONAL_GROUPS, apply_cookie_choice, opt_out_of_sale_and_sharing
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
