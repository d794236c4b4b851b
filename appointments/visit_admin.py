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

from . import services
from .availability import wall_to_instant
from .models import Appointment, Practitioner, Service
from .visit_availability import MAX_VISIT_SERVICES


class FrontDeskVisitForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    location = forms.ModelChoiceField(queryset=Location.objects.none())
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label="Start time (the location's clock)", widget=forms.TimeInput(attrs={"type": "time"}))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, user, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        # The client is found by search (the appointment admin's own autocomplete, scoped to the user's
        # locations by ClientAdmin's queryset), not listed: every client in one select does not scale and
        # would show other locations' clients. The scoped queryset is also what validates the POST.
        self.fields["client"].widget = AutocompleteSelect(Appointment._meta.get_field("client"), admin_site)
        self.fields["client"].queryset = scoped(user, Client.objects.all()).order_by("last_name", "first_name")
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
    form = FrontDeskVisitForm(
        request.POST or None,
        user=request.user,
        admin_site=model_admin.admin_site,
        initial=request.GET.dict() or None,
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
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Book a visit of several services",
        "form": form,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/appointments/appointment/book_visit.html", context)
