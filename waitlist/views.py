"""The public waitlist page: thin, it parses the form and calls the service."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.vary import vary_on_cookie

from appointments.models import Practitioner, Service
from appointments.services import ClientDetails, RequestMeta
from clinic import identity
from clinic.models import Location
from clinic.ratelimits import client_ip, limit
from privacy.cookies import visitor_id

from . import services
from .forms import JoinWaitlistForm


def _account_details(client):
    if client is None:
        return None
    return {
        "first_name": client.first_name,
        "last_name": client.last_name,
        "email": client.email,
        "mobile_phone": client.mobile_phone,
    }


@never_cache  # a signed-in client's details may be prefilled: never kept by a shared cache
@vary_on_cookie
@limit("booking")
def join(request, location_slug, service_slug):
    location = get_object_or_404(Location, slug=location_slug, is_active=True)
    service = get_object_or_404(Service, slug=service_slug, is_active=True, locations=location)
    practitioners = Practitioner.objects.filter(is_active=True, locations=location, services=service).distinct()
    # Signed in to their account: the entry goes on their record, offers to their number (details prefilled).
    account = identity.signed_in_client(request)
    later_services = Service.objects.filter(is_active=True, locations=location).order_by("name").distinct()
    initial = _account_details(account) or {}
    # From the visit page's "join the waitlist for this whole visit": its later services, chosen.
    initial.update({name: value for name, value in request.GET.items() if name.startswith("then_")})
    form = JoinWaitlistForm(
        request.POST or None,
        practitioners=practitioners,
        location=location,
        service=service,
        later_services=later_services,
        initial=initial,
    )
    context = {"location": location, "service": service, "form": form, "account": account}
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
                signed_in=account,
            )
        except services.WaitlistRefused as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "waitlist/joined.html", {**context, "entry": entry})
    return render(request, "waitlist/join.html", context, status=400 if form.errors else 200)
