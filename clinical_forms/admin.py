"""Form templates in the admin: the clinic manager edits a draft version's fields and publishes it.

A published version is shown read-only (no field added, changed or deleted); a change is a
new version ("Start a new version" on the template), which copies the latest one as a draft.
The templates hold no personal data; clients' answers are not shown here.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from clinic.errors import BusinessRuleError

from . import services
from .models import FormField, FormTemplate, FormVersion
from .selectors import current_version


class FormVersionInline(admin.TabularInline):
    model = FormVersion
    fields = ["link", "title", "published_at", "published_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    @admin.display(description="version")
    def link(self, obj):
        url = reverse("admin:clinical_forms_formversion_change", args=[obj.pk])
        return format_html('<a href="{}">Version {}</a>', url, obj.number)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(FormTemplate)
class FormTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "valid_days", "published_version", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["services"]
    inlines = [FormVersionInline]
    actions = ["start_new_version"]

    @admin.display(description="published version")
    def published_version(self, obj):
        version = current_version(obj)
        return f"v{version.number}" if version else "none yet"

    @admin.action(description="Start a new version (a draft copy of the latest)", permissions=["change"])
    def start_new_version(self, request, queryset):
        for template in queryset:
            draft = services.start_new_version(template_id=template.pk)
            url = reverse("admin:clinical_forms_formversion_change", args=[draft.pk])
            self.message_user(
                request, format_html('{}: <a href="{}">draft version {}</a> to edit.', template, url, draft.number)
            )


class FormFieldInline(admin.StackedInline):
    model = FormField
    extra = 0
    fields = [
        ("position", "key", "kind", "required"),
        "label",
        "help_text",
        "text",
        "choices",
        "follow_up_label",
        "is_date_of_birth",
    ]

    def _editable(self, obj):
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(FormVersion)
class FormVersionAdmin(admin.ModelAdmin):
    list_display = ["template", "number", "title", "published_at"]
    list_filter = ["template"]
    readonly_fields = ["template", "number", "published_at", "published_by"]
    fields = ["template", "number", "title", "introduction", "published_at", "published_by"]
    inlines = [FormFieldInline]
    actions = ["publish"]

    def has_add_permission(self, request):
        return False  # versions start from the template ("Start a new version")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False  # shown read-only: what clients signed never changes
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_published or obj.submissions.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # a bulk delete would skip the published check
        return actions

    @admin.action(description="Publish the selected drafts (they can no longer change)", permissions=["change"])
    def publish(self, request, queryset):
        for version in queryset:
            try:
                services.publish_version(version_id=version.pk, user=request.user)
            except BusinessRuleError as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(request, f"{version.template} version {version.number} is published.")
