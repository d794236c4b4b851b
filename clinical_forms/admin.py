"""Form templates in the admin: the clinic manager edits a draft version's fields and publishes it.

A published version is shown read-only (no field added, changed or deleted); a change is a
new version ("Start a new version" on the template), which copies the latest one as a draft.
The templates hold no personal data. Clients' answers (FormSubmission) are for practitioners
and the privacy officer of the client's locations, each read audited.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from appointments.admin import appointment_facts
from clinic.admin import ReadOnlyAdminMixin, client_facts
from clinic.admin_scoping import (
    LocationScopedAdmin,
    NoSecretLookupsMixin,
    clients_at,
    register_scope,
)
from clinic.admin_search import FilteredSearchNotice, OutOfRangeLookupsMixin
from clinic.errors import BusinessRuleError
from privacy.models import AuditAction
from privacy.subject_requests import audit

from . import services
from .models import (
    CheckInOverride,
    ExamOutcome,
    FieldKind,
    FormField,
    FormSubmission,
    FormTemplate,
    FormVersion,
    GoodFaithExam,
    HealthChangeReport,
    ReportedVia,
    SubmissionStatus,
)
from .pdf import signed_form_pdf
from .selectors import current_version, latest_health_change, readiness_for


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
class FormTemplateAdmin(FilteredSearchNotice):
    list_display = ["name", "kind", "valid_days", "needs_good_faith_exam", "published_version", "is_active"]
    list_filter = ["kind", "is_active", "needs_good_faith_exam"]
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
class FormVersionAdmin(OutOfRangeLookupsMixin, admin.ModelAdmin):
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
        "health_change_link",
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

    @admin.display(description="health changed?")
    def health_change_link(self, obj):
        return health_change_add_link(obj.client_id)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if not request.user.has_perm(RECORDS_HEALTH_CHANGES):  # the privacy officer reads, never records
            return [f for f in fields if f != "health_change_link"]
        return fields

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


class _AppendOnlyRecordAdmin(NoSecretLookupsMixin, LocationScopedAdmin):
    """Recorded once through its service, from the appointment page's link; never changed or deleted."""

    raw_id_fields = ["appointment"]
    add_fields: list[str] = []
    shown_fields: list[str] = []

    def get_fields(self, request, obj=None):
        return self.add_fields if obj is None else self.shown_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.shown_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}

    def save_model(self, request, obj, form, change):
        created = self.record(request, obj)  # what the service refuses, the form refused first
        obj.pk = created.pk
        obj._state.adding = False

    def record(self, request, obj):
        raise NotImplementedError

    def response_add(self, request, obj, post_url_continue=None):
        # Back to the appointment, where the front desk's status change now goes through.
        self.message_user(request, f"{obj._meta.verbose_name.capitalize()} recorded.", messages.SUCCESS)
        if obj.appointment_id:
            opts = obj._meta.get_field("appointment").related_model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.appointment_id])
            return HttpResponseRedirect(url)
        return super().response_add(request, obj, post_url_continue)


register_scope(GoodFaithExam, lambda qs, ids: qs.filter(client__in=clients_at(ids).values("pk")))
register_scope(CheckInOverride, lambda qs, ids: qs.filter(client__in=clients_at(ids).values("pk")))
register_scope(HealthChangeReport, lambda qs, ids: qs.filter(client__in=clients_at(ids).values("pk")))

# Who may read a health change report's note: those who read answers (practitioners, the privacy officer).
READS_HEALTH_DATA = "clinical_forms.view_formsubmission"
# Who may record one (the front desk, managers, practitioners): the link to do so is shown only to them.
RECORDS_HEALTH_CHANGES = "clinical_forms.add_healthchangereport"


def health_change_add_link(client_id):
    url = reverse("admin:clinical_forms_healthchangereport_add") + f"?client={client_id}"
    return format_html(
        '<a href="{}">Record that the client reports a change in their health since they signed</a> '
        "(their signed medical history and treatment consents are then signed again)",
        url,
    )


@admin.register(GoodFaithExam)
class GoodFaithExamAdmin(_AppendOnlyRecordAdmin):
    """A practitioner's exam before a treatment; the notes are health data: practitioners and the privacy
    officer read them, each read audited. A correction is a new exam (the latest counts)."""

    list_display = ["client", "appointment", "outcome", "examiner_name", "examined_at"]
    list_filter = ["outcome"]
    list_select_related = ["client", "appointment"]
    secret_lookup_fields = ("notes",)
    add_fields = ["appointment", "outcome", "notes"]
    shown_fields = ["client", "appointment", "outcome", "notes", "examiner_name", "examined_at"]

    def record(self, request, obj):
        return services.record_good_faith_exam(
            appointment_id=obj.appointment_id, examiner=request.user, outcome=obj.outcome, notes=obj.notes or ""
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and str(object_id).isdigit():
            exam = GoodFaithExam.objects.filter(pk=object_id).values_list("client_id", flat=True).first()
            if exam is not None:
                audit(
                    AuditAction.DATA_VIEWED,
                    client_id=exam,
                    actor=request.user,
                    detail=f"Good-faith exam notes viewed (exam #{object_id})",
                )
        return response


class CheckInOverrideForm(forms.ModelForm):
    class Meta:
        model = CheckInOverride
        fields = ["appointment", "reason"]

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Say why the appointment may go ahead without its forms or exam.")
        return reason


@admin.register(CheckInOverride)
class CheckInOverrideAdmin(_AppendOnlyRecordAdmin):
    """A practitioner or manager lets a treatment appointment be checked in without its forms or exam."""

    form = CheckInOverrideForm
    list_display = ["client", "appointment", "recorded_by_name", "recorded_at"]
    list_select_related = ["client", "appointment"]
    add_fields = ["appointment", "reason"]
    shown_fields = ["client", "appointment", "reason", "recorded_by_name", "recorded_at"]

    def record(self, request, obj):
        return services.record_check_in_override(
            appointment_id=obj.appointment_id, user=request.user, reason=obj.reason
        )


class HealthChangeReportForm(forms.ModelForm):
    class Meta:
        model = HealthChangeReport
        fields = ["client", "note"]

    def clean_note(self):
        note = (self.cleaned_data.get("note") or "").strip()
        if len(note) > services.HEALTH_NOTE_MAX_LENGTH:
            raise ValidationError(f"Keep the note under {services.HEALTH_NOTE_MAX_LENGTH} characters.")
        return note


@admin.register(HealthChangeReport)
class HealthChangeReportAdmin(_AppendOnlyRecordAdmin):
    """The client says their health changed since they signed (told at the desk or on the phone): from now on
    their signed medical history and treatment consents are not reused. The note is health data: the front desk
    may write it but only practitioners and the privacy officer read it, each read audited."""

    form = HealthChangeReportForm
    raw_id_fields = ["client", "appointment"]
    list_display = ["client", "via", "reported_by_name", "reported_at"]
    list_filter = ["via"]
    list_select_related = ["client"]
    secret_lookup_fields = ("note",)
    add_fields = ["client", "note"]
    shown_fields = ["client", "appointment", "via", "note", "reported_by_name", "reported_at"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not request.user.has_perm(READS_HEALTH_DATA):
            return [f for f in fields if f != "note"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def record(self, request, obj):
        return services.report_health_change(
            client_id=obj.client_id, via=ReportedVia.FRONT_DESK, user=request.user, note=obj.note or ""
        )

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(
            request,
            "Health change recorded: the client signs their medical history and treatment consents again.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:clinic_client_change", args=[obj.client_id]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200 and str(object_id).isdigit() and request.user.has_perm(READS_HEALTH_DATA):
            report = HealthChangeReport.objects.filter(pk=object_id).exclude(note=None)
            client_id = report.values_list("client_id", flat=True).first()
            if client_id is not None:
                audit(
                    AuditAction.DATA_VIEWED,
                    client_id=client_id,
                    actor=request.user,
                    detail=f"Health change report note viewed (report #{object_id})",
                )
        return response


def health_changes(client, *, viewer):
    """On the client's page: when they reported a change in their health (never the note), and where to record one
    (for the staff who may: not the privacy officer, who oversees the records rather than takes the client's word)."""
    reports = [
        format_html(
            "{} ({}{})",
            f"{timezone.localtime(r.reported_at):%Y-%m-%d %H:%M}",
            r.get_via_display().lower(),
            f", recorded by {r.reported_by_name}" if r.reported_by_name else "",
        )
        for r in HealthChangeReport.objects.filter(client=client).order_by("-reported_at", "-id")[:10]
    ]
    listed = (
        format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((r,) for r in reports))) if reports else "None."
    )
    if not viewer.has_perm(RECORDS_HEALTH_CHANGES):
        return listed
    return format_html("{}<p>{}</p>", listed, health_change_add_link(client.pk))


health_changes.short_description = "health changes reported since signing"  # type: ignore[attr-defined]
health_changes.takes_viewer = True  # type: ignore[attr-defined]
client_facts.append(health_changes)


def forms_state(appointment, *, viewer):
    """What the front desk sees of a visit's forms and exam: complete or not, which are missing (no answer),
    the exam's outcome (no note) and any override with its reason, and, for staff who may record them (not the
    front desk nor the privacy officer), where to record the exam or an override."""
    readiness = readiness_for([appointment])[appointment.pk]
    if not readiness.forms_needed and not readiness.exam_needed:
        return "none needed"
    parts = []
    if readiness.underage_refused:
        parts.append(
            "Under 18: the client's forms were refused because the date of birth they gave is under 18 "
            "(clinic policy: no treatment of minors). Contact them to cancel or rebook."
        )
    if readiness.forms_needed:
        missing = readiness.forms_missing
        parts.append("Forms: " + ("complete" if not missing else "incomplete (missing: " + ", ".join(missing) + ")"))
    if readiness.exam_needed:
        outcome = ExamOutcome(readiness.exam_outcome).label.lower() if readiness.exam_outcome else "needed"
        parts.append(f"Good-faith exam: {outcome}")
    if readiness.override:
        parts.append(f"Check-in override: {readiness.override}")
    latest = latest_health_change(appointment.client_id) if readiness.forms_missing else None
    if latest is not None:
        parts.append(
            f"Health change reported {timezone.localtime(latest.reported_at):%Y-%m-%d %H:%M} "
            f"({latest.get_via_display().lower()}): forms signed before it are signed again"
        )
    exam_url = reverse("admin:clinical_forms_goodfaithexam_add") + f"?appointment={appointment.pk}"
    override_url = reverse("admin:clinical_forms_checkinoverride_add") + f"?appointment={appointment.pk}"
    links = []
    if readiness.exam_needed and viewer.has_perm("clinical_forms.add_goodfaithexam"):
        links.append(("Record the good-faith exam (practitioners)", exam_url))
    if not readiness.ready and viewer.has_perm("clinical_forms.add_checkinoverride"):
        links.append(("Record a check-in override with a reason (practitioners, managers)", override_url))
    return format_html(
        "<ul>{}</ul>{}",
        format_html_join("", "<li>{}</li>", ((p,) for p in parts)),
        format_html_join("", '<p><a href="{}">{}</a></p>', ((url, text) for text, url in links)),
    )


forms_state.short_description = "clinical forms and exam"  # type: ignore[attr-defined]
forms_state.takes_viewer = True  # type: ignore[attr-defined]
appointment_facts.append(forms_state)
