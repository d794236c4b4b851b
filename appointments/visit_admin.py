"""The front desk books a visit of several services in the admin (services.book_visit_from_front_desk)."""

from datetime import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from clinic.admin_scoping import is_id, scoped
from clinic.models import Client, Location
from clinic.selectors import clients_matching

from . import services
from .availability import wall_to_instant
from .models import Appointment, Practitioner, Service
from .visit_availability import MAX_VISIT_SERVICES


def client_label(client: Client) -> str:
    """A found client as the front desk tells namesakes apart: name, phone and email."""
    return " · ".join([str(client), str(client.mobile_phone or "no phone"), client.email or "no email"])


class FrontDeskVisitForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label="Start time (the location's clock)", widget=forms.TimeInput(attrs={"type": "time"}))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, user, admin_site, client_search="", **kwargs):
        super().__init__(*args, **kwargs)
        # The client is found by search, not listed: every client in one select does not scale and would
        # show other locations' clients. The scoped queryset is also what validates the POST.
        clients = scoped(user, Client.objects.all())
        self.fields["client"].queryset = clients.order_by("last_name", "first_name")
        self.client_search = client_search.strip()[:100]
        self.found_clients: list[Client] | None = None
        if self.client_search:
            # Without JavaScript: the page's own search (a GET form) lists the matches at the user's
            # locations here, a plain select; the one already chosen stays among them.
            found = clients_matching(clients, self.client_search)
            chosen = str(self.data.get("client") or self.initial.get("client") or "")
            if is_id(chosen) and all(c.pk != int(chosen) for c in found):
                found += list(clients.filter(pk=int(chosen)))
            self.found_clients = found
            self.fields["client"].widget = forms.Select(
                choices=[("", "Choose the client")] + [(c.pk, client_label(c)) for c in found]
            )
            self.fields["client"].help_text = f"Clients found for “{self.client_search}” at your locations."
        else:
            # With JavaScript: the appointment admin's own autocomplete, scoped to the user's locations by
            # ClientAdmin's queryset.
            self.fields["client"].widget = AutocompleteSelect(Appointment._meta.get_field("client"), admin_site)
            self.fields["client"].queryset = self.fields["client"].queryset  # the widget's choices: the queryset
            self.fields["client"].help_text = "Type to search, or use “Find the client” above."
        self.fields["location"].queryset = scoped(user, Location.objects.filter(is_active=True)).order_by("name")
        service_choices = scoped(user, Service.objects.filter(is_active=True))
        people = scoped(user, Practitioner.objects.filter(is_active=True))
        for n in range(1, MAX_VISIT_SERVICES + 1):
            self.fields[f"service_{n}"] = forms.ModelChoiceField(
                queryset=service_choices, required=n <= 2, label=f"Service {n}" + ("" if n <= 2 else " (optional)")
            )
            self.fields[f"practitioner_{n}"] = forms.ModelChoiceField(
                queryset=people, required=False, label=f"Practitioner for service {n}", empty_label="Any qualified"
            )
        # A prefill from the query string: an id that is not a number opens its field empty (not a 500).
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField) and name in self.initial and not is_id(self.initial[name]):
                del self.initial[name]

    def parts(self):
        """[(service, practitioner or None)] in order, skipping empty rows."""
        data = self.cleaned_data
        return [
            (data[f"service_{n}"], data.get(f"practitioner_{n}"))
            for n in range(1, MAX_VISIT_SERVICES + 1)
            if data.get(f"service_{n}")
        ]

    def start(self) -> datetime:
        location = self.cleaned_data["location"]
        return wall_to_instant(self.cleaned_data["date"], self.cleaned_data["time"], location.tzinfo)


def book_visit_view(model_admin, request):
    """Add view for a visit: every part is booked by the services, all or nothing, or the form says why."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    asked = request.POST if request.method == "POST" else request.GET
    form = FrontDeskVisitForm(
        request.POST or None,
        user=request.user,
        admin_site=model_admin.admin_site,
        initial={k: v for k, v in request.GET.dict().items() if k != "client_search"} or None,
        client_search=asked.get("client_search", ""),
    )
    if request.method == "POST" and form.is_valid():
        parts = form.parts()
        try:
            appointments = services.book_visit_from_front_desk(
                client=form.cleaned_data["client"],
                location=form.cleaned_data["location"],
                service_ids=[service.pk for service, _ in parts],
                practitioner_ids=[person.pk if person else None for _, person in parts],
                start=form.start(),
                notes=form.cleaned_data["notes"],
            )
        except services.FrontDeskBookingRefused as exc:
            for field, problems in exc.problems.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            model_admin.message_user(
                request,
                f"Booked a visit of {len(appointments)} services for {appointments[0].client}.",
                messages.SUCCESS,
            )
            # Where it can be seen: the visit's day in the calendar.
            first = appointments[0]
            day = first.start.astimezone(first.location.tzinfo).date()
            return HttpResponseRedirect(
                reverse("admin:appointments_day_calendar")
                + "?"
                + urlencode({"location": first.location_id, "date": day.isoformat()})
                + f"#appointment-{first.pk}"
            )
    # The search form keeps what was filled in so far (a time clicked in the calendar, services chosen).
    carried = [
        (name, value)
        for name in asked
        if name not in ("csrfmiddlewaretoken", "client", "client_search")
        for value in asked.getlist(name)
    ]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Book a visit of several services",
        "form": form,
        "carried": carried,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/appointments/appointment/book_visit.html", context)
