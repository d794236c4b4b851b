"""The front desk's working screens: appointments, services, practitioners, hours."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from clinic.admin import LocationScopedAdmin, client_inlines
from clinic.admin_scoping import LocationScopedInline, register_scope
from clinic.selectors import phone_search_term
from privacy import requests as privacy_requests
from privacy.requests_models import AuditAction

from . import services
from .availability import local_day_bounds, practitioner_durations
from .models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AssignedUnit,
    LocationClosure,
    Practitioner,
    PractitionerService,
    ResourceType,
    ResourceUnit,
    Service,
    ServiceRequirement,
    TimeOff,
    WorkingHours,
)

# Other apps add inlines for an appointment here (its text messages).
appointment_inlines = []


def _practitioners_at(queryset, ids):
    return queryset.filter(pk__in=Practitioner.objects.filter(locations__in=ids).values("pk"))


def _services_at(queryset, ids):
    return queryset.filter(pk__in=Service.objects.filter(locations__in=ids).values("pk"))


# How each model is tied to a location, for location-limited staff (clinic.admin_scoping).
register_scope(Appointment, lambda qs, ids: qs.filter(location__in=ids))
register_scope(Practitioner, _practitioners_at)
register_scope(Service, _services_at)
register_scope(WorkingHours, lambda qs, ids: qs.filter(location__in=ids))
register_scope(LocationClosure, lambda qs, ids: qs.filter(location__in=ids))
register_scope(TimeOff, lambda qs, ids: qs.filter(practitioner__in=_practitioners_at(Practitioner.objects.all(), ids)))
register_scope(ResourceUnit, lambda qs, ids: qs.filter(location__in=ids))
register_scope(AssignedUnit, lambda qs, ids: qs.filter(unit__location__in=ids))
register_scope(ServiceRequirement, lambda qs, ids: qs.filter(service__in=_services_at(Service.objects.all(), ids)))
register_scope(
    PractitionerService,
    lambda qs, ids: qs.filter(
        Q(location__isnull=True) | Q(location__in=ids),
        practitioner__in=_practitioners_at(Practitioner.objects.all(), ids),
        service__in=_services_at(Service.objects.all(), ids),
    ),
)


class AppointmentAdminForm(forms.ModelForm):
    """The same rules as online booking: no overlaps, ever; outside hours only on purpose."""

    override_working_hours = forms.BooleanField(
        required=False,
        label="Book outside working hours",
        help_text="Tick to book when the practitioner is not scheduled, has time off, or the location is closed. "
        "Overlapping another appointment is never allowed.",
    )

    class Meta:
        model = Appointment
        fields = ["client", "location", "service", "practitioner", "start", "status", "source", "notes"]
        help_texts = {"start": "The location's local time."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Show the wall-clock time at the location, which is what staff book in.
            self.initial["start"] = self.instance.local_start.replace(tzinfo=None)
        else:
            self.initial.setdefault("source", AppointmentSource.FRONT_DESK)

    def clean(self):
        data = super().clean()
        location, service = data.get("location"), data.get("service")
        practitioner, start = data.get("practitioner"), data.get("start")
        if not (location and service and practitioner and start):
            return data
        # The widget read the time in the site's zone; the clinic meant its own.
        start = timezone.make_aware(timezone.make_naive(start), location.tzinfo)
        data["start"] = start
        self.instance.end = services.staff_booking_end(
            location=location, service=service, practitioner=practitioner, start=start
        )
        if not service.locations.filter(pk=location.pk).exists():
            self.add_error("service", f"{service} is not offered at {location}.")
        if not practitioner.locations.filter(pk=location.pk).exists():
            self.add_error("practitioner", f"{practitioner} does not work at {location}.")
        elif not practitioner_durations(location=location, service=service, practitioner_id=practitioner.pk):
            self.add_error("practitioner", f"{practitioner} does not provide {service} at {location}.")
        if self.errors or data.get("status") == AppointmentStatus.CANCELLED:
            return data
        # The admin saves inside the transaction that holds these locks.
        services.lock_practitioner(practitioner.pk)
        services.lock_resource_units(location=location, service=service)
        overlaps, outside_hours = services.staff_slot_problems(
            location=location,
            service=service,
            practitioner=practitioner,
            start=start,
            exclude_appointment_id=self.instance.pk,
        )
        if overlaps:
            raise forms.ValidationError(overlaps)
        if outside_hours and not data.get("override_working_hours"):
            raise forms.ValidationError(outside_hours + ["Tick “Book outside working hours” to book it anyway."])
        return data


class TodayFilter(admin.SimpleListFilter):
    title = "day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "Next 7 days"), ("past", "Past")]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        tz = timezone.get_current_timezone()
        midnight = lambda offset: local_day_bounds(today + timedelta(days=offset), tz)[0]  # noqa: E731
        ranges = {
            "today": (midnight(0), midnight(1)),
            "tomorrow": (midnight(1), midnight(2)),
            "week": (timezone.now(), midnight(8)),
        }
        if self.value() in ranges:
            start, end = ranges[self.value()]
            return queryset.filter(start__gte=start, start__lt=end)
        if self.value() == "past":
            return queryset.filter(start__lt=timezone.now())
        return queryset


def _status_action(status):
    def action(modeladmin, request, queryset):
        changed, skipped = services.change_status(
            appointment_ids=list(queryset.values_list("pk", flat=True)), status=status
        )
        modeladmin.message_user(request, f"{changed} appointment(s) marked {status.label.lower()}.", messages.SUCCESS)
        if skipped:
            modeladmin.message_user(
                request,
                f"{skipped} appointment(s) left as they were: "
                f"they cannot become {status.label.lower()} from their status.",
                messages.WARNING,
            )

    action.__name__ = f"mark_{status.value}"
    action.short_description = f"Mark selected as {status.label.lower()}"
    action.allowed_permissions = ("change",)
    return action


@admin.register(Appointment)
class AppointmentAdmin(LocationScopedAdmin):
    form = AppointmentAdminForm
    list_display = ["local_time", "client", "service", "practitioner", "location", "status", "source"]
    list_filter = [TodayFilter, "location", "practitioner", "status", "source"]
    date_hierarchy = "start"
    search_fields = ["client__first_name", "client__last_name", "client__email", "client__mobile_phone"]
    autocomplete_fields = ["client"]
    list_select_related = ["client", "service", "practitioner", "location"]
    readonly_fields = ["end", "rooms_and_devices", "created_at", "updated_at"]
    actions = [_status_action(s) for s in services.STATUS_CHANGES_FROM]

    @admin.display(description="Start (local)", ordering="start")
    def local_time(self, obj):
        return obj.local_start.strftime("%a %d %b %Y %H:%M %Z")

    @admin.display(description="Rooms and devices")
    def rooms_and_devices(self, obj):
        return ", ".join(hold.unit.name for hold in obj.assigned_units.select_related("unit")) or "-"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not obj.is_cancelled:
            # Under the unit locks the form's clean() took, in the admin's transaction.
            services.assign_resource_units(appointment=obj)

    def get_search_results(self, request, queryset, search_term):
        phone = phone_search_term(search_term)
        if phone:
            return queryset.filter(client__mobile_phone=phone), False
        return super().get_search_results(request, queryset, search_term)

    def get_inlines(self, request, obj):
        return appointment_inlines if obj else []

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            # The page lists the client's texts about this appointment (the messaging inline).
            appointment = self.get_object(request, object_id)
            privacy_requests.audit(
                AuditAction.DATA_VIEWED,
                client_id=appointment.client_id,
                actor=request.user,
                detail=f"Appointment {appointment.pk} and its text messages",
            )
        return response

    def get_fields(self, request, obj=None):
        return [
            "client",
            "location",
            "service",
            "practitioner",
            "start",
            "override_working_hours",
            "status",
            "source",
            "notes",
        ] + (["end", "rooms_and_devices", "created_at", "updated_at"] if obj else [])


class AppointmentInline(LocationScopedInline, admin.TabularInline):
    model = Appointment
    fields = ["start", "location", "service", "practitioner", "status"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-start"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "service", "practitioner")


client_inlines.append(AppointmentInline)


class WorkingHoursInline(LocationScopedInline, admin.TabularInline):
    model = WorkingHours
    extra = 0


class TimeOffInline(LocationScopedInline, admin.TabularInline):
    model = TimeOff
    extra = 0


class PractitionerServiceInline(LocationScopedInline, admin.TabularInline):
    model = PractitionerService
    fields = ["service", "location", "duration_minutes"]
    extra = 0


@admin.register(Practitioner)
class PractitionerAdmin(LocationScopedAdmin):
    list_display = ["name", "title", "is_active"]
    list_filter = ["is_active", "locations"]
    filter_horizontal = ["locations"]
    search_fields = ["name"]
    inlines = [PractitionerServiceInline, WorkingHoursInline, TimeOffInline]


class ServiceRequirementInline(LocationScopedInline, admin.TabularInline):
    model = ServiceRequirement
    extra = 0


@admin.register(Service)
class ServiceAdmin(LocationScopedAdmin):
    list_display = ["name", "duration_minutes", "buffer_after_minutes", "price_text", "is_active"]
    list_filter = ["is_active", "locations"]
    filter_horizontal = ["locations"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [ServiceRequirementInline]


@admin.register(ResourceType)
class ResourceTypeAdmin(admin.ModelAdmin):
    """Kinds of rooms and devices: shared by every location, no location's data."""

    list_display = ["name", "cleanup_minutes"]
    search_fields = ["name"]


@admin.register(ResourceUnit)
class ResourceUnitAdmin(LocationScopedAdmin):
    list_display = ["name", "resource_type", "location", "is_active"]
    list_filter = ["location", "resource_type", "is_active"]
    search_fields = ["name"]


@admin.register(ServiceRequirement)
class ServiceRequirementAdmin(LocationScopedAdmin):
    list_display = ["service", "resource_type"]
    list_filter = ["resource_type"]
    list_select_related = ["service", "resource_type"]


@admin.register(LocationClosure)
class LocationClosureAdmin(LocationScopedAdmin):
    list_display = ["date", "location", "reason"]
    list_filter = ["location"]
    date_hierarchy = "date"


@admin.register(TimeOff)
class TimeOffAdmin(LocationScopedAdmin):
    list_display = ["practitioner", "start", "end", "reason"]
    list_filter = ["practitioner"]
