"""The front desk books a caller on the phone: next free times from the online engine, the client on
file or a new record, and the caller's spoken consent to texts in the words read to them
(services.book_phone_call)."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html

from clinic import identity
from clinic.admin_scoping import scoped
from clinic.languages import language_choices
from clinic.models import Client, Location
from clinic.timefmt import admin_datetime
from privacy.models import ConsentPurpose
from privacy.notices import phone_call_notices

from . import services
from .availability import Slot, find_free_slots
from .forms import MobilePhoneField
from .models import Appointment, Practitioner, Service

# Enough to offer a caller a choice without reading a long list aloud.
TIMES_SHOWN = 24
DAYS_SEARCHED = 7
FURTHEST_DAYS_AHEAD = 2 * 365

IDENTITY_CHECKS = [
    ("", "Not needed (a new record, or no consent to record)"),
    ("date of birth on file", "The caller gave the date of birth on file"),
    ("calling from the mobile number on file", "The caller is calling from the mobile number on file"),
]


class PhoneSearchForm(forms.Form):
    """What the caller wants; a GET form, so the free times can be searched again without booking."""

    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    service = forms.ModelChoiceField(queryset=Service.objects.none())
    practitioner = forms.ModelChoiceField(
        queryset=Practitioner.objects.none(), required=False, empty_label="Any qualified practitioner"
    )
    day = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}), required=False)
    # Asked with the search, so the consent words below are shown in it before they are read aloud.
    language = forms.ChoiceField(
        label="Caller's language",
        choices=language_choices,
        required=False,
        help_text="The words to read, the confirmation and later texts and emails are in it.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = scoped(user, Location.objects.filter(is_active=True)).order_by("name")
        self.fields["service"].queryset = scoped(user, Service.objects.filter(is_active=True)).order_by("name")
        self.fields["practitioner"].queryset = scoped(user, Practitioner.objects.filter(is_active=True)).order_by(
            "name"
        )

    def clean(self):
        data = super().clean()
        location, day = data.get("location"), data.get("day")
        if location is not None and day is not None:
            today = timezone.now().astimezone(location.tzinfo).date()
            # The past has no free times, and a day beyond any diary's (year 9999) has no week to search.
            if not today <= day <= today + timedelta(days=FURTHEST_DAYS_AHEAD):
                self.add_error("day", f"Choose a day from today to {FURTHEST_DAYS_AHEAD // 365} years ahead.")
        return data

    def caller_language(self) -> str:
        return self.cleaned_data.get("language") or settings.LANGUAGE_CODE

    def free_times(self) -> list[tuple[Slot, int]]:
        """(slot, practitioner) for the next free times: the searched practitioner, or the first free one."""
        data = self.cleaned_data
        location = data["location"]
        first_day = data.get("day") or timezone.now().astimezone(location.tzinfo).date()
        practitioner = data.get("practitioner")
        slots = find_free_slots(
            location=location,
            service=data["service"],
            start_date=first_day,
            end_date=first_day + timedelta(days=DAYS_SEARCHED - 1),
            practitioner_id=practitioner.pk if practitioner else None,
        )
        return [(slot, slot.practitioner_ids[0]) for slot in slots[:TIMES_SHOWN]]


class PhoneBookingForm(forms.Form):
    """The chosen time, who the caller is, and what they agreed to after hearing the words."""

    time = forms.ChoiceField(widget=forms.RadioSelect, error_messages={"required": "Choose one of the free times."})
    client = forms.ModelChoiceField(queryset=Client.objects.none(), required=False)  # set per staff member below
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    mobile_phone = MobilePhoneField(label="Mobile phone", required=False)
    email = forms.EmailField(required=False)
    create_anyway = forms.BooleanField(
        required=False, label="Add a new record even though a client on file has this phone or email"
    )
    privacy_notice_read = forms.BooleanField(required=False)
    texts_agreed = forms.BooleanField(required=False)
    identity_check = forms.ChoiceField(
        choices=IDENTITY_CHECKS, required=False, label="How you know the caller is the client on file"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, user, free_times, zone, model_admin, language, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.free_times = {f"{slot.start.isoformat()}|{person}": (slot, person) for slot, person in free_times}
        people = dict(Practitioner.objects.filter(pk__in={p for _, p in free_times}).values_list("pk", "name"))
        self.fields["time"].choices = [
            (key, f"{admin_datetime(slot.start, zone)} with {people.get(person, '')}")
            for key, (slot, person) in self.free_times.items()
        ]
        # Clients at the staff member's locations only: another location's client is not a valid choice.
        self.fields["client"] = forms.ModelChoiceField(
            queryset=scoped(user, Client.objects.filter(erased_at__isnull=True)),
            required=False,
            label="Client on file",
            help_text="Search by name, email or phone. Leave empty to add a new client below.",
            widget=AutocompleteSelect(
                Appointment._meta.get_field("client"), model_admin.admin_site, attrs={"data-width": "30em"}
            ),
        )
        with translation.override(language):  # the words as read, in the caller's language
            words = phone_call_notices()
        self.fields["privacy_notice_read"].label = format_html(
            'New client: I read them this: “<span lang="{}">{}</span>”',
            language,
            words[ConsentPurpose.PRIVACY_POLICY],
        )
        self.fields["texts_agreed"].label = format_html(
            'The caller said yes when I asked: “<span lang="{}">{}</span>”',
            language,
            words[ConsentPurpose.SMS_REMINDERS],
        )

    def clean(self):
        data = super().clean()
        client = data.get("client")
        if client is None:
            for name in ("first_name", "last_name", "mobile_phone"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, "Needed for a new client (or pick the client on file above).")
            if not data.get("privacy_notice_read"):
                self.add_error("privacy_notice_read", "Read the caller how we use their details before adding them.")
            on_file = self._clients_on_file(data)
            if on_file and not data.get("create_anyway"):
                names = ", ".join(f"{c.first_name} {c.last_name}" for c in on_file[:3])
                self.add_error(
                    None,
                    f"A client on file has this phone or email ({names}): pick them above, "
                    "or tick “Add a new record” if the caller is someone else.",
                )
        elif data.get("texts_agreed") and not data.get("identity_check"):
            self.add_error("identity_check", "Say how you know the caller is this client before recording consent.")
        return data

    def _clients_on_file(self, data) -> list[Client]:
        match = Q()
        if data.get("mobile_phone"):
            match |= Q(mobile_phone=str(data["mobile_phone"]), erased_at__isnull=True)
        if data.get("email"):
            # The address in the one spelling identity matches and hashes it by.
            match |= Q(pk__in=identity.clients_with_email(data["email"]).values("pk"))
        if not match:
            return []
        return list(scoped(self.user, Client.objects.filter(match)).order_by("pk")[:3])

    def chosen(self) -> tuple[Slot, int]:
        return self.free_times[self.cleaned_data["time"]]

    def new_client(self) -> services.ClientDetails | None:
        if self.cleaned_data.get("client") is not None:
            return None
        data = self.cleaned_data
        return services.ClientDetails(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data.get("email") or "",
            mobile_phone=data["mobile_phone"],
        )


def phone_booking_view(model_admin: admin.ModelAdmin, request):
    """Search free times (GET), then book the chosen one for the caller (POST to the same search)."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    search = PhoneSearchForm(request.GET or None, user=request.user)
    booking = None
    location = None
    if search.is_valid():
        location = search.cleaned_data["location"]
        free_times = search.free_times()
        booking = PhoneBookingForm(
            request.POST if request.method == "POST" else None,
            user=request.user,
            free_times=free_times,
            zone=location.tzinfo,
            model_admin=model_admin,
            language=search.caller_language(),
        )
        if request.method == "POST" and booking.is_valid():
            slot, practitioner_id = booking.chosen()
            try:
                appointment = services.book_phone_call(
                    staff_user=request.user,
                    location=location,
                    service=search.cleaned_data["service"],
                    practitioner=Practitioner.objects.get(pk=practitioner_id),
                    start=slot.start,
                    client=booking.cleaned_data.get("client"),
                    new_client=booking.new_client(),
                    texts_agreed=booking.cleaned_data["texts_agreed"],
                    identity_check=booking.cleaned_data.get("identity_check", ""),
                    notes=booking.cleaned_data["notes"],
                    language=search.caller_language(),
                )
            except services.FrontDeskBookingRefused as exc:
                for problems in exc.problems.values():
                    for problem in problems:
                        booking.add_error(None, f"{problem} Choose another time.")
            else:
                model_admin.message_user(
                    request,
                    f"Booked {appointment.service} for {appointment.client} on "
                    f"{admin_datetime(appointment.start, location.tzinfo)}; the confirmation is on its way "
                    f"(in {dict(settings.LANGUAGES)[appointment.client.language]}).",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse(
                        f"admin:{Appointment._meta.app_label}_{Appointment._meta.model_name}_change",
                        args=[appointment.pk],
                    )
                )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Book a caller by phone",
        "opts": model_admin.model._meta,
        "search": search,
        "booking": booking,
        "searched": search.is_bound and search.is_valid(),
        "media": search.media + (booking.media if booking else forms.Media()),
    }
    return TemplateResponse(request, "admin/appointments/appointment/phone_booking.html", context)
