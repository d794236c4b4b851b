from django.contrib import admin, messages

from clinic.admin import client_inlines

from .models import ConsentRecord, PolicyVersion, Subprocessor
from .policy import publish_policy

LEDGER_FIELDS = [
    "recorded_at",
    "client",
    "visitor_id",
    "purpose",
    "granted",
    "source",
    "actor",
    "staff_user",
    "notice_text",
    "notice_sha256",
    "ip_address",
    "user_agent",
    "evidence",
    "policy_version",
]


class ReadOnlyLedgerMixin:
    """The ledger is append-only: nobody adds, edits or deletes rows in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyLedgerMixin, admin.ModelAdmin):
    list_display = ["recorded_at", "client", "purpose", "granted", "source", "actor"]
    list_filter = ["purpose", "granted", "source"]
    search_fields = ["client__email", "client__last_name", "visitor_id", "evidence"]
    fields = LEDGER_FIELDS
    readonly_fields = LEDGER_FIELDS
    list_select_related = ["client"]


class ConsentHistoryInline(ReadOnlyLedgerMixin, admin.TabularInline):
    model = ConsentRecord
    verbose_name_plural = "Consent history (newest first)"
    fields = ["recorded_at", "purpose", "granted", "source", "actor", "notice_text"]
    readonly_fields = fields
    ordering = ["-recorded_at", "-id"]
    extra = 0


client_inlines.append(ConsentHistoryInline)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "effective_date", "is_published", "published_at"]
    readonly_fields = ["is_published", "published_at"]
    actions = ["publish_and_notify"]

    def has_change_permission(self, request, obj=None):
        # A published version is a record of what clients were told: never edited.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Publish selected and email every client", permissions=["change"])
    def publish_and_notify(self, request, queryset):
        for policy_id in queryset.filter(is_published=False).values_list("pk", flat=True):
            publish_policy(policy_id=policy_id)
        self.message_user(request, "Published; clients with an email address are being notified.", messages.SUCCESS)


@admin.register(Subprocessor)
class SubprocessorAdmin(admin.ModelAdmin):
    list_display = ["name", "purpose", "country", "only_with_consent", "is_active", "position"]
    list_editable = ["position"]
