"""The waitlist in the admin: entries and offers of the staff member's locations, and offering a time by hand."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from appointments.availability import find_free_slots
from appointments.models import Practitioner
from appointments.visit_availability import find_visit_slots
from clinic.admin import LocationScopedAdmin, ReadOnlyAdminMixin
from clinic.admin_scoping import register_scope
from clinic.timefmt import admin_datetime

from . import services
from .models import Opening, WaitlistEntry, WaitlistOffer

register_scope(WaitlistEntry, lambda qs, ids: qs.filter(location__in=ids))
register_scope(Opening, lambda qs, ids: qs.filter(location__in=ids))
register_scope(WaitlistOffer, lambda qs, ids: qs.filter(opening__location__in=ids))

HAND_OFFER_CHOICES = 30


class HandOfferForm(forms.Form):
    time = forms.ChoiceField(label="Time to offer", widget=forms.RadioSelect)

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time"].choices = choices


def _free_choices(entry):
    """(value, label) for the first free times in the entry's range: value is "<start iso>|<practitioner id>".

    For a whole visit, the starts the whole visit fits, with the practitioner of its first service.
    """
    tz = entry.location.tzinfo
    today = timezone.now().astimezone(tz).date()
    wanted = entry.visit_services()
    if len(wanted) > 1:
        visits = find_visit_slots(
            location=entry.location,
            services=wanted,
            start_date=max(entry.earliest_date, today),
            end_date=entry.latest_date,
            practitioner_ids=[entry.practitioner_id, *([None] * (len(wanted) - 1))],
        )[:HAND_OFFER_CHOICES]
        ids = {part.practitioner_id for v in visits for part in v.parts}
        people = dict(Practitioner.objects.filter(pk__in=ids).values_list("pk", "name"))
        return [
            (
                f"{v.start.isoformat()}|{v.parts[0].practitioner_id}",
                f"{admin_datetime(v.start, tz)}: "
                + ", then ".join(
                    f"{s.name} with {people[p.practitioner_id]}" for s, p in zip(wanted, v.parts, strict=True)
                ),
            )
            for v in visits
        ]
    slots = find_free_slots(
        location=entry.location,
        service=entry.service,
        start_date=max(entry.earliest_date, today),
        end_date=entry.latest_date,
        practitioner_id=entry.practitioner_id,
    )[:HAND_OFFER_CHOICES]
    names = dict(Practitioner.objects.filter(pk__in={s.practitioner_ids[0] for s in slots}).values_list("pk", "name"))
    return [
        (
            f"{s.start.isoformat()}|{s.practitioner_ids[0]}",
            f"{admin_datetime(s.start, tz)} with {names[s.practitioner_ids[0]]}",
        )
        for s in slots
    ]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(LocationScopedAdmin):
    list_display = (
        "client",
        "services_waited_for",
        "location",
        "practitioner_or_any",
        "earliest_date",
        "latest_date",
        "status",
        "created_at",
        "offer_link",
    )
    list_filter = ("status", "location", "service")
    list_select_related = ("client", "service", "location", "practitioner")
    ordering = ("created_at", "pk")
    readonly_fields = ("client", "location", "service", "practitioner", "created_at", "appointment")
    fields = (
        "client",
        "location",
        "service",
        "practitioner",
        "earliest_date",
        "latest_date",
        "status",
        "appointment",
        "created_at",
    )
    search_fields = ("client__last_name", "client__first_name")

    def has_add_permission(self, request):
        return False  # people join through the public page, with their consent recorded

    def has_delete_permission(self, request, obj=None):
        return False  # withdraw instead (status): the offers are history

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("more_services__service")

    @admin.display(description="Service (or whole visit)", ordering="service__name")
    def services_waited_for(self, obj):
        return " then ".join(service.name for service in obj.visit_services())

    @admin.display(description="Practitioner")
    def practitioner_or_any(self, obj):
        return obj.practitioner or "Any"

    @admin.display(description="Offer a time")
    def offer_link(self, obj):
        if obj.status != "waiting":
            return "-"
        return format_html(
            '<a href="{}">Offer a time…</a>', reverse("admin:waitlist_waitlistentry_offer", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path("<int:pk>/offer/", self.admin_site.admin_view(self.offer_view), name="waitlist_waitlistentry_offer"),
        ] + super().get_urls()

    def offer_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        entry = get_object_or_404(self.get_queryset(request).select_related("client", "service", "location"), pk=pk)
        form = HandOfferForm(request.POST or None, choices=_free_choices(entry))
        if request.method == "POST" and form.is_valid():
            start_text, practitioner_id = form.cleaned_data["time"].split("|")
            try:
                services.offer_by_hand(
                    entry_id=entry.pk,
                    practitioner_id=int(practitioner_id),
                    start=timezone.datetime.fromisoformat(start_text),
                    staff_user=request.user,
                )
            except services.WaitlistRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(request, "Offer texted; the time is held for the reply.", messages.SUCCESS)
                return redirect("admin:waitlist_waitlistentry_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Offer a time to {entry.client}",
            "entry": entry,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/waitlist/offer.html", context)


@admin.register(WaitlistOffer)
class WaitlistOfferAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ("opening", "entry", "status", "created_at", "expires_at", "answered_at", "offered_by")
    list_filter = ("status",)
    list_select_related = ("opening__location", "opening__practitioner", "entry__service", "offered_by")
    ordering = ("-created_at", "-pk")


@admin.register(Opening)
class OpeningAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ("__str__", "location", "status", "created_at")
    list_filter = ("status", "location")
    list_select_related = ("location", "practitioner")
    ordering = ("-start",)
