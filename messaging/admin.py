from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from appointments.admin import appointment_inlines
from clinic.admin import LocationScopedAdmin, ReadOnlyAdminMixin, client_inlines
from clinic.admin_scoping import LocationScopedInline, NoSecretLookupsMixin, clients_at, register_scope, scoped
from clinic.models import Client
from clinic.timefmt import admin_datetime
from privacy import subject_requests as privacy_requests
from privacy.requests_models import AuditAction

from . import inbound, marketing, opt_outs, selectors
from .models import (
    Campaign,
    CampaignEmail,
    CampaignStatus,
    Direction,
    EmailOptOut,
    InboundMessage,
    MessageStatus,
    OptOutChannel,
    OptOutEvent,
    ReminderRule,
    SmsMessage,
    SmsOptOut,
)
from .redaction import body_for_staff


def _opt_outs_at(queryset, ids):
    """An opt-out is a number: it belongs to the locations whose clients have it or that it texted."""
    client_phones = clients_at(ids).exclude(mobile_phone="").values("mobile_phone")
    texted_from = SmsMessage.objects.filter(location__in=ids, direction=Direction.INBOUND).values("from_number")
    return queryset.exclude(phone="").filter(Q(phone__in=client_phones) | Q(phone__in=texted_from))


# How each model is tied to a location, for location-limited staff (clinic.admin_scoping).
register_scope(SmsMessage, lambda qs, ids: qs.filter(location__in=ids))
register_scope(ReminderRule, lambda qs, ids: qs.filter(location__in=ids))
register_scope(SmsOptOut, _opt_outs_at)
register_scope(
    EmailOptOut,
    lambda qs, ids: qs.exclude(email="").filter(email__in=clients_at(ids).exclude(email="").values("email")),
)
# A campaign for every location (no location) names clients of all of them: unlimited staff only.
register_scope(Campaign, lambda qs, ids: qs.filter(location__in=ids))
register_scope(CampaignEmail, lambda qs, ids: qs.filter(campaign__location__in=ids))


def audit_message_view(request, *, client_id, detail):
    """A staff view of someone's texts goes into the privacy audit trail."""
    privacy_requests.audit(AuditAction.DATA_VIEWED, client_id=client_id, actor=request.user, detail=detail)


class BodyForStaffMixin(NoSecretLookupsMixin):
    secret_lookup_fields = ("body",)  # a verification text's code

    @admin.display(description="Body")
    def body_shown(self, obj):
        return body_for_staff(kind=obj.kind, body=obj.body)


class AuditedMessageViewsMixin:
    """Opening a text's page is a view of that client's messages: recorded in the privacy audit trail."""

    audit_label = "Text message {pk} in the message log"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # 200 is the page shown (a GET, or a form posted back with errors); a saved form redirects.
        if response.status_code == 200:
            message = self.get_object(request, object_id)
            audit_message_view(request, client_id=message.client_id, detail=self.audit_label.format(pk=message.pk))
        return response


LOG_FIELDS = [
    "created_at",
    "direction",
    "kind",
    "status",
    "status_reason",
    "from_number",
    "to_number",
    "body_shown",
    "location",
    "client",
    "appointment",
    "twilio_sid",
    "error_code",
    "attempts",
    "send_after",
    "sent_at",
    "status_updated_at",
]


@admin.register(SmsMessage)
class SmsMessageAdmin(AuditedMessageViewsMixin, BodyForStaffMixin, ReadOnlyAdminMixin, LocationScopedAdmin):
    """The log of every text in and out."""

    list_display = ["created_at", "direction", "kind", "to_number", "client", "location", "status", "error_code"]
    list_filter = ["direction", "kind", "status", "location"]
    search_fields = ["to_number", "from_number", "twilio_sid", "client__last_name", "client__email"]
    fields = LOG_FIELDS
    readonly_fields = LOG_FIELDS
    list_select_related = ["client", "location"]
    date_hierarchy = "created_at"


class SmsMessageInline(BodyForStaffMixin, ReadOnlyAdminMixin, LocationScopedInline, admin.TabularInline):
    model = SmsMessage
    verbose_name_plural = "Text messages (newest first)"
    fields = ["created_at", "direction", "kind", "status", "body_shown", "status_reason"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0


client_inlines.append(SmsMessageInline)
appointment_inlines.append(SmsMessageInline)


@admin.register(ReminderRule)
class ReminderRuleAdmin(LocationScopedAdmin):
    list_display = ["location", "minutes_before"]
    list_filter = ["location"]


class LiftOptOutForm(forms.Form):
    reason = forms.CharField(
        label="How did the person ask, and how did you confirm it was them?",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 200}),
        min_length=opt_outs.MIN_STAFF_REASON,
        max_length=200,
        help_text="For example: client asked by phone on 2026-11-30 to resume reminders; confirmed identity by date "
        "of birth. Kept in the opt-out history (after erasure too) and the privacy audit trail: do not write the "
        "number, the date of birth or other details here.",
    )
    resume_reminders_for = forms.ModelChoiceField(
        queryset=Client.objects.none(),
        required=False,
        empty_label="No: only lift the opt-out",
        label="They also asked for appointment reminders again",
        help_text="Recorded in the consent ledger as given to you. Marketing texts need the person's own opt-in.",
    )

    def __init__(self, *args, clients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resume_reminders_for"].queryset = clients


@admin.register(SmsOptOut)
class SmsOptOutAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["created_at", "phone", "reason"]
    fields = ["created_at", "phone", "phone_hash", "reason", "evidence", "history", "lift_link"]
    readonly_fields = fields
    search_fields = ["phone", "evidence"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not request.user.has_perm(opt_outs.LIFT_PERMISSION):
            fields.remove("lift_link")  # the front desk cannot lift a STOP: no button to a 403
        return fields

    @admin.display(description="History")
    def history(self, obj):
        events = OptOutEvent.objects.filter(channel=OptOutChannel.SMS, contact_hash=obj.phone_hash)
        return format_html_join(
            mark_safe("<br>"),
            "{} {} ({}{}): {}",
            (
                (
                    date_format(localtime(e.created_at), "DATETIME_FORMAT"),
                    e.get_action_display(),
                    e.get_source_display(),
                    f", by {e.staff_user}" if e.staff_user else "",
                    e.reason,
                )
                for e in events
            ),
        )

    @admin.display(description="Lift")
    def lift_link(self, obj):
        if not obj.phone:
            return "Erased number: only a START texted from the phone lifts it."
        return format_html(
            '<a class="button" href="{}">Lift the opt-out on the person\'s behalf</a>',
            reverse("admin:messaging_smsoptout_lift", args=[obj.pk]),
        )

    def get_urls(self):
        return [
            path("<int:pk>/lift/", self.admin_site.admin_view(self.lift_view), name="messaging_smsoptout_lift"),
        ] + super().get_urls()

    def lift_view(self, request, pk):
        """Lift a STOP because the person asked staff to: a reason is required; managers and privacy officers only."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        opt_out = get_object_or_404(self.get_queryset(request), pk=pk)  # another location's number: 404
        if not request.user.has_perm(opt_outs.LIFT_PERMISSION):
            raise PermissionDenied
        clients = (
            scoped(request.user, Client.objects.filter(mobile_phone=str(opt_out.phone))) if opt_out.phone else None
        )
        form = LiftOptOutForm(request.POST or None, clients=clients or Client.objects.none())
        if request.method == "POST" and form.is_valid():
            try:
                opt_outs.lift_sms_opt_out_for_person(
                    opt_out=opt_out,
                    reason=form.cleaned_data["reason"],
                    staff_user=request.user,
                    resume_reminders_for=form.cleaned_data["resume_reminders_for"],
                )
            except opt_outs.LiftRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                self.message_user(request, f"The opt-out of {opt_out.phone} is lifted.", messages.SUCCESS)
                return redirect("admin:messaging_smsoptout_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Lift the opt-out of {opt_out.phone or 'an erased number'} on the person's behalf",
            "opt_out": opt_out,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/messaging/lift_opt_out.html", context)


class UnreadFilter(admin.SimpleListFilter):
    title = "read or unread"
    parameter_name = "unread"

    def lookups(self, request, model_admin):
        return [("yes", "Unread"), ("no", "Read")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(read_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(read_at__isnull=False)
        return queryset


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Reply",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 640}),
        max_length=640,
        help_text="Sent from the location's number, under the same rules as every text (quiet hours, opt-outs).",
    )


@admin.register(InboundMessage)
class InboxAdmin(AuditedMessageViewsMixin, BodyForStaffMixin, ReadOnlyAdminMixin, LocationScopedAdmin):
    """Texts from clients that no keyword handled, per location, unread first."""

    audit_label = "Inbox message {pk}"

    list_display = [
        "unread",
        "created_at",
        "from_number",
        "client_link",
        "next_appointment",
        "location",
        "body_shown",
        "reply_link",
    ]
    list_display_links = ["created_at"]
    list_filter = [UnreadFilter, "location"]
    search_fields = ["from_number", "body", "client__last_name"]
    fields = ["created_at", "from_number", "to_number", "client", "location", "appointment", "body_shown", "read_at"]
    readonly_fields = fields
    list_select_related = ["client", "location"]
    actions = ["mark_as_read"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(direction=Direction.INBOUND, keyword="none")
            .order_by(F("read_at").asc(nulls_first=True), "-created_at")
        )

    def get_changelist(self, request, **kwargs):
        # Each row's client's next visit, in one query with the list (at this staff member's locations).
        user = request.user

        class InboxChangeList(super().get_changelist(request, **kwargs)):
            def get_queryset(self, request, exclude_parameters=None):
                return selectors.with_next_appointment(super().get_queryset(request, exclude_parameters), user=user)

        return InboxChangeList

    @admin.display(description="Client", ordering="client__last_name")
    def client_link(self, obj):
        if obj.client is None:
            return "Not on file"
        # Every role that reads the inbox may view clients (clinic/roles.py); the page itself checks scope.
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:clinic_client_change", args=[obj.client_id]), obj.client
        )

    @admin.display(description="Next appointment", ordering="next_start")
    def next_appointment(self, obj):
        start = getattr(obj, "next_start", None)
        if start is None:
            return "None booked"
        return f"{admin_datetime(start, obj.next_timezone)}: {obj.next_service}"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        # The list shows what clients wrote: one audit row per client on the page.
        if response.status_code == 200 and hasattr(response, "context_data"):
            shown = {m.client_id for m in response.context_data["cl"].result_list if m.client_id}
            for client_id in sorted(shown):
                audit_message_view(request, client_id=client_id, detail="Inbox list")
        return response

    @admin.display(boolean=True, description="Unread")
    def unread(self, obj):
        return obj.read_at is None

    @admin.display(description="Reply")
    def reply_link(self, obj):
        return format_html('<a href="{}">Reply</a>', reverse("admin:messaging_inboundmessage_reply", args=[obj.pk]))

    @admin.action(description="Mark selected as read", permissions=["view"])
    def mark_as_read(self, request, queryset):
        count = inbound.mark_read(message_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} message(s) marked read.", messages.SUCCESS)

    def get_urls(self):
        return [
            path("<int:pk>/reply/", self.admin_site.admin_view(self.reply_view), name="messaging_inboundmessage_reply"),
        ] + super().get_urls()

    def reply_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        message = get_object_or_404(self.get_queryset(request), pk=pk)
        if not request.user.has_perm("messaging.reply_inboundmessage"):
            return TemplateResponse(request, "admin/messaging/no_reply_permission.html", status=403)
        form = ReplyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                inbound.send_staff_reply(inbound_id=message.pk, body=form.cleaned_data["body"], staff_user=request.user)
            except inbound.ReplyRefused as refusal:
                form.add_error("body", str(refusal))
            else:
                self.message_user(request, "Reply queued.", messages.SUCCESS)
                return redirect("admin:messaging_inboundmessage_changelist")
        inbound.mark_read(message_ids=[message.pk])
        number = message.from_number
        # Only this location's side of the number's texts: the same person may text another location too.
        thread = scoped(request.user, SmsMessage.objects.filter(Q(from_number=number) | Q(to_number=number)))
        conversation = [
            (sms, body_for_staff(kind=sms.kind, body=sms.body)) for sms in thread.order_by("-created_at")[:20]
        ]
        # Shown on a GET and on a reply sent back with errors alike: both are views of the thread.
        audit_message_view(request, client_id=message.client_id, detail=f"Inbox conversation (message {message.pk})")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Reply to {message.client or message.from_number}",
            "message": message,
            "conversation": conversation,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/messaging/reply.html", context)


@admin.register(Campaign)
class CampaignAdmin(LocationScopedAdmin):
    list_display = ["name", "channel", "location", "send_at", "status", "audience_size", "skipped_over_cap"]
    list_filter = ["channel", "status", "location"]
    readonly_fields = [
        "status",
        "audience_now",
        "audience_size",
        "skipped_over_cap",
        "progress",
        "started_at",
        "created_by",
    ]
    fields = [
        "name",
        "channel",
        "location",
        "subject",
        "body",
        "send_at",
        "status",
        "audience_now",
        "audience_size",
        "skipped_over_cap",
        "progress",
        "started_at",
        "created_by",
    ]
    actions = ["schedule", "cancel"]

    @admin.display(description="Audience if sent now")
    def audience_now(self, obj):
        if not obj.pk:
            return "Save the draft to see how many clients it would reach."
        audience = marketing.campaign_audience(channel=obj.channel, location=obj.location)
        return (
            f"{len(audience)} client(s) with current {obj.get_channel_display()} marketing consent, not opted out or "
            f"restricted; {audience.over_cap} more left out by the frequency cap; "
            f"{audience.unconfirmed} more opted in but not yet confirmed by the owner of the number or address"
        )

    @admin.display(description="Delivery")
    def progress(self, obj):
        rows = obj.sms_messages if obj.channel == "sms" else obj.emails
        counts = {s: n for s, n in rows.values_list("status").annotate(n=Count("pk"))}
        return ", ".join(f"{MessageStatus(s).label}: {n}" for s, n in sorted(counts.items())) or "Not started"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_change_permission(self, request, obj=None):
        # A campaign that has started is history, not a draft.
        if obj is not None and obj.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description="Schedule selected drafts (they start at their send time)", permissions=["change"])
    def schedule(self, request, queryset):
        count = sum(marketing.schedule_campaign(campaign_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} campaign(s) scheduled.", messages.SUCCESS)

    @admin.action(description="Cancel selected (before they start)", permissions=["change"])
    def cancel(self, request, queryset):
        count = sum(marketing.cancel_campaign(campaign_id=pk) for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} campaign(s) cancelled.", messages.SUCCESS)


@admin.register(EmailOptOut)
class EmailOptOutAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["created_at", "email", "reason"]
    fields = ["created_at", "email", "email_hash", "reason"]
    readonly_fields = fields
    search_fields = ["email"]


@admin.register(CampaignEmail)
class CampaignEmailAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["created_at", "campaign", "to_email", "status", "sent_at"]
    list_filter = ["status", "campaign"]
    fields = ["created_at", "campaign", "client", "to_email", "status", "status_reason", "sent_at"]
    readonly_fields = fields
