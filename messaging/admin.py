from django.contrib import admin

from appointments.admin import appointment_inlines
from clinic.admin import client_inlines

from .models import ReminderRule, SmsMessage, SmsOptOut

LOG_FIELDS = [
    "created_at",
    "direction",
    "kind",
    "status",
    "status_reason",
    "from_number",
    "to_number",
    "body",
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


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The log of every text in and out."""

    list_display = ["created_at", "direction", "kind", "to_number", "client", "location", "status", "error_code"]
    list_filter = ["direction", "kind", "status", "location"]
    search_fields = ["to_number", "from_number", "twilio_sid", "client__last_name", "client__email"]
    fields = LOG_FIELDS
    readonly_fields = LOG_FIELDS
    list_select_related = ["client", "location"]
    date_hierarchy = "created_at"


class SmsMessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SmsMessage
    verbose_name_plural = "Text messages (newest first)"
    fields = ["created_at", "direction", "kind", "status", "body", "status_reason"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    extra = 0


client_inlines.append(SmsMessageInline)
appointment_inlines.append(SmsMessageInline)


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ["location", "minutes_before"]
    list_filter = ["location"]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "phone", "reason"]
    fields = ["created_at", "phone", "phone_hash", "reason", "evidence"]
    readonly_fields = fields
    search_fields = ["phone", "evidence"]
