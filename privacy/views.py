from django.shortcuts import get_object_or_404, render

from clinic.models import Location

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
