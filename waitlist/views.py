"""The public waitlist page: thin, it parses the form and calls the service."""

from django.shortcuts import get_object_or_404, render

from appointments.models import Practitioner, Service
from appointments.services import ClientDetails, RequestMeta
from clinic.models import Location
from clinic.ratelimits import client_ip, limit
from privacy.cookies import visitor_id

from . import services
from .forms import JoinWaitlistForm


@limit("booking")
def join(request, location_slug, service_slug):
    location = get_object_or_404(Location, slug=location_slug, is_active=True)
    service = get_object_or_404(Service, slug=service_slug, is_active=True, locations=location)
    practitioners = Practitioner.objects.filter(is_active=True, locations=location, services=service).distinct()
    later_services = Service.objects.filter(is_active=True, locations=location).order_by("name").distinct()
    form = JoinWaitlistForm(
        request.POST or None,
        practitioners=practitioners,
        location=location,
        service=service,
        later_services=later_services,
        # From the visit page's "join the waitlist for this whole visit": its later services, chosen.
        initial={name: value for name, value in request.GET.items() if name.startswith("then_")},
    )
    context = {"location": location, "service": service, "form": form}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        practitioner_id = form.practitioner_id()
        try:
            entry = services.join_waitlist(
                location=location,
                service=service,
                practitioner=practitioners.filter(pk=practitioner_id).first() if practitioner_id else None,
                earliest_date=data["earliest_date"],
                latest_date=data["latest_date"],
                more_services=form.more_services(),
                details=ClientDetails(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    email=data["email"],
                    mobile_phone=data["mobile_phone"],
                ),
                consents=services.WaitlistConsents(
                    privacy_policy=data["accept_privacy_policy"], sms_offers=data["sms_offers"]
                ),
                meta=RequestMeta(
                    ip_address=client_ip(request) or None,
                    user_agent=request.META.get("HTTP_USER_AGENT", ""),
                    visitor_id=visitor_id(request),
                ),
            )
        except services.WaitlistRefused as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "waitlist/joined.html", {**context, "entry": entry})
    return render(request, "waitlist/join.html", context, status=400 if form.errors else 200)
