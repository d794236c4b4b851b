"""The front desk's working screens: appointments, services, practitioners, hours."""

from datetime import date, datetime, timedelta
from functools import partial
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from clinic.admin import LocationScopedAdmin, client_inlines, facts_for_viewer
from clinic.admin_scoping import LocationScopedInline, is_id, register_scope, scoped
from clinic.admin_search import OutOfRangeLookupsMixin
from clinic.errors import BusinessRuleError
from clinic.models import Location
from clinic.selectors import phone_search_term, staff_location_ids
from clinic.timefmt import admin_datetime
from privacy import subject_requests as privacy_requests
from privacy.requests_models import AuditAction

from . import selectors, services, status_gates
from .availability import local_day_bounds
from .calendar_html import CalendarLinks, table_body
from .feeds import feed_url, may_hand_out_feed
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
    ServiceCategory,
    ServiceRequirement,
    TimeOff,
    WorkingHours,
)
from .move_admin import free_times_to_move_to, free_visit_times_to_move_to, move_view, move_visit_view
from .phone_booking import phone_booking_view
from .visit_admin import book_visit_view

# Other apps add inlines for an appointment here (its text messages).
appointment_inlines = []
# Other apps add read-only facts to an appointment's page here: callable(appointment) -> text, with a
# short_description (clinical forms: complete or not), so this app need not import them. One marked
# `takes_viewer = True` also gets the staff user looking (viewer=...): clinic.admin.facts_for_viewer.
appointment_facts = []


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

    # When this editor loaded the appointment: saving over a change made since is refused, not silent.
    loaded_version = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Appointment
        fields = ["client", "location", "service", "practitioner", "start", "status", "source", "notes"]
        help_texts = {"start": "The location's local time."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.visit_id is not None and "status" in self.fields:
            self.fields["status"].help_text = (
                "Part of a visit of several services: confirming, checking in, marking no-show or cancelling "
                "applies to the whole visit (a part already completed stays so); the client is told once."
            )
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
        self.instance.end = services.staff_booking_end(
            location=location, service=service, practitioner=practitioner, start=start
        )
        loaded = data.get("loaded_version") or ""
        try:
            data["expected_updated_at"] = datetime.fromisoformat(loaded) if loaded else None
        except ValueError:
            data["expected_updated_at"] = None
        if self.instance.pk and data["expected_updated_at"] is None:
            # Every change form carries when it was loaded: one without (a page from before this check, a
            # hand-made request) cannot show it saves over nobody's change, so it is refused, not trusted.
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
                client=data.get("client"),
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


class NotedChangeList(ChangeList):
    """The day's list, with what other apps tell the front desk about each row (status_gates.day_notes)."""

    def get_results(self, request):
        super().get_results(request)
        notes = status_gates.day_notes(self.result_list)
        for appointment in self.result_list:
            appointment.day_note = notes.get(appointment.pk, "")


def _status_action(status):
    def action(modeladmin, request, queryset):
        visits = status in services.VISIT_WIDE_STATUSES and queryset.filter(visit__isnull=False).exists()
        changed, skipped = services.change_status(
            appointment_ids=list(queryset.values_list("pk", flat=True)), status=status
        )
        modeladmin.message_user(
            request,
            f"{changed} appointment(s) marked {status.label.lower()}"
            + (" (a part of a visit of several services takes the whole visit with it)." if visits else "."),
            messages.SUCCESS,
        )
        if skipped:
            modeladmin.message_user(
                request,
                f"{skipped} appointment(s) left as they were: they cannot become {status.label.lower()} "
                "from their status, or they need something first (e.g. a treatment's forms or exam: "
                "open the appointment to see what).",
                messages.WARNING,
            )

    action.__name__ = f"mark_{status.value}"
    action.short_description = f"Mark selected as {status.label.lower()}"
    action.allowed_permissions = ("change",)
    return action


CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class DayCalendarForm(forms.Form):
    """The calendar's choices; the location list is only the staff member's own locations."""

    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Location", empty_label=None)
    date = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    # One choice per kind of column (selectors.COLUMN_SOURCES): rooms and devices join the list there.
    show = forms.MultipleChoiceField(label="Show", required=False, widget=forms.CheckboxSelectMultiple, choices=[])

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations
        self.fields["show"].choices = [(kind, label) for kind, (label, _) in selectors.COLUMN_SOURCES.items()]

    def clean_date(self):
        # Its day before and after, and its times in UTC, must exist: year 1 and 9999 have none to show.
        day = self.cleaned_data["date"]
        if not CALENDAR_FIRST_DAY <= day <= CALENDAR_LAST_DAY:
            raise ValidationError(f"Choose a day from {CALENDAR_FIRST_DAY.year} to {CALENDAR_LAST_DAY.year}.")
        return day


def calendar_url(*, location_id, day: date, show=()) -> str:
    """show: the kinds of column chosen other than the default (kept when moving between days)."""
    query = [("location", location_id), ("date", day.isoformat())]
    if list(show) not in ([], ["practitioner"]):
        query += [("show", kind) for kind in show]
    return reverse("admin:appointments_day_calendar") + "?" + urlencode(query)


def _status_choices(status):
    """The statuses an appointment may become next, in the table's order (services.STATUS_TRANSITIONS)."""
    allowed = services.STATUS_TRANSITIONS[status]
    return [(value, AppointmentStatus(value).label) for value in services.STATUS_CHANGE_TARGETS if value in allowed]


@admin.register(Appointment)
class AppointmentAdmin(LocationScopedAdmin):
    form = AppointmentAdminForm
    list_display = ["local_time", "client", "service", "practitioner", "location", "status", "day_note", "source"]
    list_filter = [TodayFilter, "location", "practitioner", "status", "source"]
    date_hierarchy = "start"
    search_fields = ["client__first_name", "client__last_name", "client__email", "client__mobile_phone"]
    autocomplete_fields = ["client"]
    list_select_related = ["client", "service", "practitioner", "location"]
    readonly_fields = ["end", "rooms_and_devices", "created_at", "updated_at"]
    actions = [_status_action(AppointmentStatus(s)) for s in services.STATUS_CHANGE_TARGETS]

    def get_urls(self):
        return [
            path("calendar/", self.admin_site.admin_view(self.calendar_view), name="appointments_day_calendar"),
            path(
                "visit/add/",
                self.admin_site.admin_view(partial(book_visit_view, self)),
                name="appointments_book_visit",
            ),
            path(
                "move/",
                self.admin_site.admin_view(require_POST(partial(move_view, self))),
                name="appointments_move",
            ),
            path(
                "move-visit/",
                self.admin_site.admin_view(require_POST(partial(move_visit_view, self))),
                name="appointments_move_visit",
            ),
            path(
                "phone/",
                self.admin_site.admin_view(partial(phone_booking_view, self)),
                name="appointments_phone_booking",
            ),
            path(
                "calendar/status/",
                self.admin_site.admin_view(require_POST(self.calendar_status_view)),
                name="appointments_day_calendar_status",
            ),
            *super().get_urls(),
        ]

    def calendar_view(self, request):
        """The front desk's day: a column per practitioner, appointments placed by time, gaps to book."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        locations = scoped(request.user, Location.objects.filter(is_active=True)).order_by("name")
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Day calendar"}
        asked = request.GET.get("location", "")
        location = locations.filter(pk=asked).first() if is_id(asked) else None
        if asked and location is None:
            # Another location's id (or not an id): the same answer as for a record they may not see.
            raise Http404
        location = location or locations.first()
        if location is None:
            return TemplateResponse(request, "admin/appointments/appointment/day_calendar.html", context)
        today = timezone.now().astimezone(location.tzinfo).date()
        form = DayCalendarForm(
            {
                "location": location.pk,
                "date": request.GET.get("date") or today.isoformat(),
                "show": request.GET.getlist("show") or ["practitioner"],
            },
            locations=locations,
        )
        form.is_valid()
        day = form.cleaned_data.get("date") or today
        kinds = form.cleaned_data.get("show") or ["practitioner"]
        calendar = selectors.day_calendar(location=location, day=day, kinds=kinds)
        items = [item for column in calendar.columns for item in column.items if item.appointment is not None]
        notes = status_gates.day_notes({item.appointment.pk: item.appointment for item in items}.values())
        for item in items:
            item.status_choices = _status_choices(item.appointment.status)
            item.can_check_in = AppointmentStatus.CHECKED_IN in dict(item.status_choices)
            item.note = notes.get(item.appointment.pk, "")
        names = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        links = CalendarLinks(
            add_url=reverse(f"{names}_add") if self.has_add_permission(request) else "",
            status_url=reverse("admin:appointments_day_calendar_status") if self.has_change_permission(request) else "",
            change_url=reverse(f"{names}_change", args=[0]),
            csrf_token=get_token(request),
            location_id=location.pk,
        )
        context.update(
            {
                "form": form,
                "calendar": calendar,
                "table_body": table_body(calendar, links),
                "location": location,
                "day": day,
                "today": today,
                "previous_url": calendar_url(location_id=location.pk, day=day - timedelta(days=1), show=kinds),
                "next_url": calendar_url(location_id=location.pk, day=day + timedelta(days=1), show=kinds),
                "today_url": calendar_url(location_id=location.pk, day=today, show=kinds),
                "can_add": bool(links.add_url),
                "cancelled_url": reverse(f"{names}_changelist")
                + "?"
                + urlencode({"location__id__exact": location.pk, "status__exact": AppointmentStatus.CANCELLED}),
                "subtitle": f"{location} {day:%A %-d %B %Y}",
            }
        )
        return TemplateResponse(request, "admin/appointments/appointment/day_calendar.html", context)

    def calendar_status_view(self, request):
        """Check-in and other status changes from the calendar, through the status table's service."""
        raw = request.POST.get("appointment", "")
        appointment = (
            self.get_queryset(request).select_related("client", "location").filter(pk=raw).first()
            if is_id(raw)
            else None
        )
        if appointment is None:
            raise Http404
        if not self.has_change_permission(request, appointment):
            raise PermissionDenied
        status = request.POST.get("status", "")
        label = f"{appointment.client} at {appointment.local_start:%H:%M}"
        if status not in AppointmentStatus.values:
            self.message_user(request, "Choose a status to change to.", messages.ERROR)
        else:
            try:
                # A visit-wide change (check-in, no-show, cancel) moves the client's whole visit.
                changed = services.change_visit_status(appointment_id=appointment.pk, status=status)
            except BusinessRuleError as exc:  # the status table, or a gate on the change (clinical forms)
                self.message_user(request, f"{label}: {exc}", messages.ERROR)
            else:
                what = AppointmentStatus(status).label.lower()
                if len(changed) > 1:
                    what = f"{what} (the whole visit: {len(changed)} services)"
                self.message_user(request, f"{label}: {what}.", messages.SUCCESS)
        day = appointment.local_start.date()
        return HttpResponseRedirect(
            calendar_url(location_id=appointment.location_id, day=day) + f"#appointment-{appointment.pk}"
        )

    def get_changelist(self, request, **kwargs):
        return NotedChangeList

    @admin.display(description="Forms and exam")
    def day_note(self, obj):
        # Filled for the whole page at once by NotedChangeList (a fixed number of queries, not one per row).
        return getattr(obj, "day_note", None) or "-"

    @admin.display(description="Start (local)", ordering="start")
    def local_time(self, obj):
        return admin_datetime(obj.start, obj.location.tzinfo)

    @admin.display(description="Rooms and devices")
    def rooms_and_devices(self, obj):
        return ", ".join(hold.unit.name for hold in obj.assigned_units.select_related("unit")) or "-"

    def get_search_results(self, request, queryset, search_term):
        phone = phone_search_term(search_term)
        if phone:
            return queryset.filter(client__mobile_phone=phone), False
        return super().get_search_results(request, queryset, search_term)

    def get_inlines(self, request, obj):
        return appointment_inlines if obj else []

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, *facts_for_viewer(appointment_facts, request.user)] if obj else fields

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appointment = self.get_object(request, object_id)
        if appointment is not None and request.method == "GET" and self.has_change_permission(request, appointment):
            # Rescheduling: the next free times, each a one-click move (move_admin); a visit's move as a whole.
            visit_times, visit_version = free_visit_times_to_move_to(appointment)
            extra_context = {
                **(extra_context or {}),
                "free_times": free_times_to_move_to(appointment),
                "loaded_version": appointment.updated_at.isoformat(),
                "visit_free_times": visit_times,
                "visit_version": visit_version,
            }
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            # The page lists the client's texts about this appointment (the messaging inline).
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
        if change and saved.visit_id is not None and "status" in form.changed_data:
            if data["status"] in services.VISIT_WIDE_STATUSES:
                self.message_user(
                    request,
                    f"The whole visit is {saved.get_status_display().lower()}: every part of it that could be.",
                    messages.INFO,
                )

    def response_add(self, request, obj, post_url_continue=None):
        # A new booking lands where it can be seen: its day in the calendar, not a list filtered to another day.
        if "_continue" in request.POST or "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request, f"Booked {obj.service} for {obj.client} at {admin_datetime(obj.start, obj.location.tzinfo)}."
        )
        day = obj.start.astimezone(obj.location.tzinfo).date()
        return HttpResponseRedirect(calendar_url(location_id=obj.location_id, day=day) + f"#appointment-{obj.pk}")

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
        ] + (
            [
                "end",
                "rooms_and_devices",
                "created_at",
                "updated_at",
                "loaded_version",
                *facts_for_viewer(appointment_facts, request.user),
            ]
            if obj
            else []
        )


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


@admin.action(description="New calendar feed link (the old link stops working)", permissions=["change"])
def rotate_feed_links(modeladmin, request, queryset):
    location_ids = staff_location_ids(request.user)
    chosen = list(queryset)
    ids = [p.pk for p in chosen if may_hand_out_feed(p, location_ids)]
    for practitioner_id in ids:
        services.rotate_practitioner_feed_key(practitioner_id=practitioner_id)
    modeladmin.message_user(
        request,
        f"{len(ids)} practitioner(s) have a new calendar feed link; the old one now answers 404.",
        messages.SUCCESS,
    )
    if skipped := len(chosen) - len(ids):
        modeladmin.message_user(
            request,
            f"{skipped} practitioner(s) left unchanged: their feed also shows locations you do not manage.",
            messages.WARNING,
        )


@admin.register(Practitioner)
class PractitionerAdmin(LocationScopedAdmin):
    list_display = ["name", "title", "is_active"]
    list_filter = ["is_active", "locations"]
    filter_horizontal = ["locations"]
    search_fields = ["name"]
    inlines = [PractitionerServiceInline, WorkingHoursInline, TimeOffInline]
    actions = [rotate_feed_links]

    def get_readonly_fields(self, request, obj=None):
        # The link shows client first names to whoever holds it: only those who may change the
        # practitioner (clinic managers) see it and hand it over; the front desk sees where it is.
        # The feed shows every location's appointments of the practitioner: only staff whose locations
        # cover all of them see it (a Milpitas manager never copies a link showing Glendale's clients).
        feed = "calendar_feed_for_managers"
        if self.has_change_permission(request, obj):
            covered = obj is None or may_hand_out_feed(obj, staff_location_ids(request.user))
            feed = "calendar_feed" if covered else "calendar_feed_for_all_its_locations"
        return [*super().get_readonly_fields(request, obj), feed]

    @admin.display(description="Calendar feed")
    def calendar_feed_for_managers(self, obj):
        return "A private link for the practitioner's own calendar app; a clinic manager can see and renew it here."

    @admin.display(description="Calendar feed")
    def calendar_feed_for_all_its_locations(self, obj):
        return (
            "A private link for the practitioner's own calendar app. It shows their appointments at every "
            "location, some of which you do not manage: a manager of all of them can see and renew it."
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is not WorkingHours:
            return super().save_formset(request, form, formset, change)
        # New or longer hours free times the waitlist may offer (after commit, appointments.signals.time_freed).
        before = {
            h.pk: (h.practitioner_id, h.location_id, h.weekday, h.start_time, h.end_time)
            for h in WorkingHours.objects.filter(pk__in=[f.instance.pk for f in formset.forms if f.instance.pk])
        }
        super().save_formset(request, form, formset, change)
        for hours in [*formset.new_objects, *(obj for obj, _ in formset.changed_objects)]:
            services.announce_new_working_hours(hours=hours, before=before.get(hours.pk))

    @admin.display(description="Calendar feed")
    def calendar_feed(self, obj):
        if obj is None or obj.pk is None:
            return "Shown once the practitioner is saved."
        url = feed_url(obj)
        return format_html(
            '<a href="{}">{}</a><br>Private: subscribe to it in the practitioner\'s own calendar app. It shows '
            "first names and services only. To revoke it, choose the practitioner in the list and run "
            '"New calendar feed link".',
            url,
            url,
        )


class ServiceRequirementInline(LocationScopedInline, admin.TabularInline):
    model = ServiceRequirement
    extra = 0


@admin.register(Service)
class ServiceAdmin(LocationScopedAdmin):
    list_display = [
        "name",
        "category",
        "position",
        "duration_minutes",
        "buffer_after_minutes",
        "price_text",
        "is_active",
    ]
    list_filter = ["is_active", "category", "locations"]
    ordering = ["category__position", "category__name", "position", "name"]
    filter_horizontal = ["locations"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]
    inlines = [ServiceRequirementInline]


@admin.register(ServiceCategory)
class ServiceCategoryAdmin(OutOfRangeLookupsMixin, admin.ModelAdmin):
    """The booking site's service headings and their order: shared by every location, no location's data."""

    list_display = ["name", "position"]
    list_editable = ["position"]
    search_fields = ["name"]


@admin.register(ResourceType)
class ResourceTypeAdmin(OutOfRangeLookupsMixin, admin.ModelAdmin):
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

    # A lifted (or moved) closure frees the day's working hours: the waitlist may offer them.
    def save_model(self, request, obj, form, change):
        before = LocationClosure.objects.filter(pk=obj.pk).values_list("location", "date").first() if change else None
        super().save_model(request, obj, form, change)
        if before is not None and before != (obj.location_id, obj.date):
            services.announce_reopened_day(location=Location.objects.get(pk=before[0]), day=before[1])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.announce_reopened_day(location=obj.location, day=obj.date)

    def delete_queryset(self, request, queryset):
        lifted = [(closure.location, closure.date) for closure in queryset.select_related("location")]
        super().delete_queryset(request, queryset)
        for location, day in lifted:
            services.announce_reopened_day(location=location, day=day)


@admin.register(TimeOff)
class TimeOffAdmin(LocationScopedAdmin):
    list_display = ["practitioner", "start", "end", "reason"]
    list_filter = ["practitioner"]
