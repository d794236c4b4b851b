from django.contrib import admin

from clinic.admin import client_inlines

from .models import ConsentRecord

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
