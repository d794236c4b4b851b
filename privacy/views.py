from django.shortcuts import render

from clinic.models import Location


def policy(request):
    return render(request, "privacy/policy.html", {"locations": Location.objects.filter(is_active=True)})
