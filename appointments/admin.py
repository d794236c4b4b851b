"""The front desk's working screens: appointments, services, practitioners, hours."""

from datetime import datetime, timedelta

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils import timezone

from clinic.admin import LocationScopedAdmin, client_inlines
from clinic.admin_scoping import LocationScopedInline, register_scope
from clinic.selectors import phone_search_term
from privacy import subject_requests as privacy_requests
from privacy.requests_models import AuditAction

from . import services
from .availability import local_day_bounds
from .models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    LocationClosure,
    Practitioner,
    Service,
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


class AppointmentAdminForm(forms.ModelForm):
    """The same rules as online booking: no overlaps, ever; outside hours only on purpose."""

    override_working_hours = forms.BooleanField(
        required=False,
        label="Book outside working hours",
        help_text="Tick to book when the practitioner is not scheduled, has time off, or the location is closed. "
        "Overlapping another appointment is never allowed.",
    )

    # When this editor loaded the appointment: saving over a change made since is refused, not silent.
    loaded_version = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Appointment
        fields = ["client", "location", "service", "practitioner", "start", "status", "source", "notes"]
        help_texts = {"start": "The location's local time."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # Show the wall-clock time at the location, which is what staff book in.
            self.initial["start"] = self.instance.local_start.replace(tzinfo=None)
            self.initial["loaded_version"] = self.instance.updated_at.isoformat()
        else:
            self.initial.setdefault("source", AppointmentSource.FRONT_DESK)

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            # A relation shown read-only (it points outside the user's locations, clinic.admin_scoping) is not
            # on the form: it keeps its value, and the rules below still see it.
            for name in ("client", "location", "service", "practitioner"):
                if name not in self.fields:
                    data[name] = getattr(self.instance, name)
        location, service = data.get("location"), data.get("service")
        practitioner, start = data.get("practitioner"), data.get("start")
        if not (location and service and practitioner and start and data.get("status")):
            return data
        # The widget read the time in the site's zone; the clinic meant its own.
        start = timezone.make_aware(timezone.make_naive(start), location.tzinfo)
        data["start"] = start
        self.instance.end = start + service.duration
        loaded = data.get("loaded_version") or ""
        try:
            data["expected_updated_at"] = datetime.fromisoformat(loaded) if loaded else None
        except ValueError:
            self.add_error(None, "This form is out of date. Reload the page.")
            return data
        # The service's own checks, under its locks; the admin saves inside the transaction that holds them.
        try:
            services.check_front_desk_appointment(
                appointment_id=self.instance.pk,
                location=location,
                service=service,
                practitioner=practitioner,
                start=start,
                status=data["status"],
                override_working_hours=bool(data.get("override_working_hours")),
                expected_updated_at=data["expected_updated_at"],
            )
        except services.AppointmentStatusError as exc:
            self.add_error("status", str(exc))
        except services.FrontDeskBookingRefused as exc:
            for field, problems in exc.problems.items():
                # A read-only relation has no field on the form to carry its message: the form as a whole does.
                self.add_error(field if field in self.fields else None, problems)
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
    readonly_fields = ["end", "created_at", "updated_at"]
    actions = [_status_action(AppointmentStatus(s)) for s in services.STATUS_CHANGE_TARGETS]

    @admin.display(description="Start (local)", ordering="start")
    def local_time(self, obj):
        return obj.local_start.strftime("%a %d %b %Y %H:%M %Z")

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

    def save_model(self, request, obj, form, change):
        # Every appointment write goes through the service, with the same locks and notifications as online.
        data = form.cleaned_data
        saved = services.save_appointment_from_front_desk(
            appointment_id=obj.pk if change else None,
            client=data["client"],
            location=data["location"],
            service=data["service"],
            practitioner=data["practitioner"],
            start=data["start"],
            status=data["status"],
            source=data["source"],
            notes=data.get("notes", ""),
            override_working_hours=bool(data.get("override_working_hours")),
            expected_updated_at=data.get("expected_updated_at"),
        )
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.delete_appointments(appointment_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.delete_appointments(appointment_ids=list(queryset.values_list("pk", flat=True)))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (services.FrontDeskBookingRefused, services.AppointmentStatusError) as exc:
            # Only when the rules changed between the form's check and the save (the form checks under
            # the same locks, so this is the database's own constraint): nothing was written.
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

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
        ] + (["end", "created_at", "updated_at", "loaded_version"] if obj else [])


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


@admin.register(Practitioner)
class PractitionerAdmin(LocationScopedAdmin):
    list_display = ["name", "title", "is_active"]
    list_filter = ["is_active", "locations"]
    filter_horizontal = ["locations", "services"]
    search_fields = ["name"]
    inlines = [WorkingHoursInline, TimeOffInline]


@admin.register(Service)
class ServiceAdmin(LocationScopedAdmin):
    list_display = ["name", "duration_minutes", "buffer_after_minutes", "price_text", "is_active"]
    list_filter = ["is_active", "locations"]
    filter_horizontal = ["locations"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(LocationClosure)
class LocationClosureAdmin(LocationScopedAdmin):
    list_display = ["date", "location", "reason"]
    list_filter = ["location"]
    date_hierarchy = "date"


@admin.register(TimeOff)
class TimeOffAdmin(LocationScopedAdmin):
    list_display = ["practitioner", "start", "end", "reason"]
    list_filter = ["practitioner"]
