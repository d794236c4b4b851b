"""Form templates in the admin: the clinic manager edits a draft version's fields and publishes it.

A published version is shown read-only (no field added, changed or deleted); a change is a
new version ("Start a new version" on the template), which copies the latest one as a draft.
The templates hold no personal data. Clients' answers (FormSubmission) are for practitioners
and the privacy officer of the client's locations, each read audited.
"""

from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from appointments.admin import appointment_facts
from clinic.admin import ReadOnlyAdminMixin
from clinic.admin_scoping import LocationScopedAdmin, NoSecretLookupsMixin, clients_at, register_scope
from clinic.errors import BusinessRuleError

from . import services
from .models import FieldKind, FormField, FormSubmission, FormTemplate, FormVersion, SubmissionStatus
from .pdf import signed_form_pdf
from .selectors import current_version, visit_forms_status


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


register_scope(FormSubmission, lambda qs, ids: qs.filter(client__in=clients_at(ids).values("pk")))


@admin.register(FormSubmission)
class FormSubmissionAdmin(NoSecretLookupsMixin, ReadOnlyAdminMixin, LocationScopedAdmin):
    """Clients' answers: for practitioners and the privacy officer only, of their locations; every read audited.

    The list shows which forms exist and their state, never an answer; opening one (or its PDF)
    writes a "Personal data viewed" event to the privacy audit trail.
    """

    list_display = ["client", "form_name", "version_number", "status", "signed_at", "expires_at"]
    list_filter = ["status", "version__template"]
    list_select_related = ["client", "version__template"]
    secret_lookup_fields = ("answers", "signer_name", "document", "document_sha256", "signed_ip", "signed_user_agent")
    fields = [
        "client",
        "form_name",
        "version_number",
        "status",
        "answers_list",
        "signer_name",
        "signed_at",
        "signed_ip",
        "signed_user_agent",
        "expires_at",
        "document_sha256",
        "pdf_link",
    ]
    readonly_fields = fields

    @admin.display(description="form")
    def form_name(self, obj):
        return obj.version.template.name

    @admin.display(description="version")
    def version_number(self, obj):
        return obj.version.number

    @admin.display(description="answers")
    def answers_list(self, obj):
        answers = obj.answers or {}
        rows = []
        for field in obj.version.fields.all():
            if not field.takes_answer:
                continue
            value = answers.get(field.key, "")
            if field.kind == FieldKind.OPTIONAL_CONSENT:
                value = "agreed" if value else "not agreed"
            rows.append((field.label, value, answers.get(f"{field.key}__detail", "")))
        return format_html(
            "<dl>{}</dl>",
            format_html_join("", "<dt>{}</dt><dd>{} {}</dd>", rows),
        )

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        if obj.status != SubmissionStatus.SIGNED:
            return "-"
        url = reverse("admin:clinical_forms_formsubmission_pdf", args=[obj.pk])
        return format_html('<a href="{}">Download the signed form (PDF)</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="clinical_forms_formsubmission_pdf",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            services.audit_answers_read(submission_id=int(object_id), user=request.user, how="viewed")
        return response

    def pdf_view(self, request, object_id):
        submission = self.get_object(request, str(object_id))
        if submission is None or not self.has_view_permission(request, submission):
            raise Http404
        if submission.status != SubmissionStatus.SIGNED:
            raise Http404
        body = signed_form_pdf(submission)
        services.audit_answers_read(submission_id=submission.pk, user=request.user, how="downloaded as PDF")
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="signed-form-{submission.pk}.pdf"'
        response["Cache-Control"] = "no-store"
        return response


def forms_state(appointment):
    """What the front desk sees of a visit's forms: complete or not, and which are missing (no answer)."""
    rows = visit_forms_status(appointment)
    if not rows:
        return "none needed"
    missing = [row["template"].name for row in rows if row["state"] != "complete"]
    return "complete" if not missing else "incomplete (missing: " + ", ".join(missing) + ")"


forms_state.short_description = "clinical forms"  # type: ignore[attr-defined]
appointment_facts.append(forms_state)
