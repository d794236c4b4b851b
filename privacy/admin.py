import csv
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from clinic.admin import ClientAdmin, ClientForm, LocationScopedAdmin, ReadOnlyAdminMixin, client_inlines
from clinic.admin_scoping import (
    LocationScopedInline,
    NoSecretLookupsMixin,
    UnlimitedStaffOnlyAdmin,
    clients_at,
    is_id,
    register_scope,
)
from clinic.admin_search import FilteredSearchNotice, OutOfRangeLookupsMixin
from clinic.errors import BusinessRuleError
from clinic.models import Client
from clinic.spreadsheet import spreadsheet_safe
from clinic.timefmt import admin_datetime

from . import subject_requests
from .erasure import ErasureRefused, fulfil_erasure_request
from .export import build_bundle
from .models import ConsentRecord, PolicyTranslation, PolicyVersion, Subprocessor
from .policy import publish_policy
from .requests_models import AuditAction, DataSubjectRequest, PrivacyAuditEvent, RequestStatus, RequestType

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


# A location-limited user sees the ledger of the clients they can see; cookie choices of
# anonymous visitors (an IP and a user agent, no location) only staff of every location.
register_scope(ConsentRecord, lambda qs, ids: qs.filter(client__in=clients_at(ids).values("pk")))


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdminMixin, LocationScopedAdmin):
    list_display = ["recorded_at", "client", "purpose", "granted", "source", "actor"]
    list_filter = ["purpose", "granted", "source"]
    search_fields = ["client__email", "client__last_name", "visitor_id", "evidence"]
    fields = LEDGER_FIELDS
    readonly_fields = LEDGER_FIELDS
    list_select_related = ["client"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            record = self.get_object(request, object_id)
            subject_requests.audit(
                AuditAction.DATA_VIEWED,
                client_id=record.client_id,
                actor=request.user,
                detail=f"Consent record {record.pk} (IP address, user agent)",
            )
        return response


class ConsentHistoryInline(ReadOnlyAdminMixin, LocationScopedInline, admin.TabularInline):
    model = ConsentRecord
    verbose_name_plural = "Consent history (newest first)"
    fields = ["recorded_at", "purpose", "granted", "source", "actor", "notice_text"]
    readonly_fields = fields
    ordering = ["-recorded_at", "-id"]
    extra = 0


client_inlines.append(ConsentHistoryInline)


class PolicyTranslationInline(admin.StackedInline):
    """The clinic's text in another language, written with the version (a published one is never edited)."""

    model = PolicyTranslation
    extra = 0
    verbose_name = "text in another language"
    verbose_name_plural = "Texts in other languages (visitors reading in a language with none see the main text)"

    def _draft(self, obj):
        return obj is None or not obj.is_published

    def has_add_permission(self, request, obj=None):
        return self._draft(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(OutOfRangeLookupsMixin, admin.ModelAdmin):
    list_display = ["version", "effective_date", "is_published", "published_at"]
    readonly_fields = ["is_published", "published_at"]
    inlines = [PolicyTranslationInline]
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
class SubprocessorAdmin(OutOfRangeLookupsMixin, admin.ModelAdmin):
    list_display = ["name", "purpose", "country", "only_with_consent", "is_active", "position"]
    list_editable = ["position"]


class RequestAdminForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ["request_type", "email", "phone", "details", "channel", "legal_hold", "legal_hold_reason"]


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(NoSecretLookupsMixin, UnlimitedStaffOnlyAdmin, FilteredSearchNotice):
    """The privacy officers' register: due dates first, overdue and due-soon flagged."""

    secret_lookup_fields = ("sms_code_hash", "verification_nonce", "export_nonce")
    form = RequestAdminForm
    list_display = [
        "reference",
        "request_type",
        "status",
        "identity_check_needed",
        "received_at",
        "deadline_flag",
        "regime",
        "channel",
    ]
    list_filter = ["identity_check_needed", "request_type", "status", "regime", "channel"]
    search_fields = ["reference", "email"]
    readonly_fields = [
        "reference",
        "status",
        "regime",
        "received_at",
        "acknowledged_at",
        "verified_at",
        "due_at",
        "extended_due_at",
        "extension_reason",
        "extension_notified_at",
        "completed_at",
        "refusal_basis",
        "outcome",
        "matched_clients",
        "history",
        "identity_check_needed",
        "identity_check_reason",
    ]
    actions = ["mark_verified_by_staff", "send_export", "erase_now", "lift_restriction", "export_register_csv"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and (obj.email_confirmed_at or obj.verified_at):
            # What the requester proved (their email, the phone on file) and for what: changed now, the
            # export link would go to an address nobody proved, or a deletion would skip the phone code.
            fields += ["request_type", "email", "phone"]
        return fields

    @admin.display(description="Deadline", ordering="due_at")
    def deadline_flag(self, obj):
        now = timezone.now()
        label = f"{obj.deadline:%Y-%m-%d}"
        if obj.is_open and obj.deadline < now:
            return format_html('<strong style="color:#b00020">OVERDUE {}</strong>', label)
        if obj.is_open and obj.deadline < now + timedelta(days=settings.PRIVACY_DUE_SOON_DAYS):
            return format_html('<strong style="color:#8a5a00">due soon {}</strong>', label)
        return label

    @admin.display(description="Matched clients")
    def matched_clients(self, obj):
        links = [
            format_html('<a href="{}">{}</a>', reverse("admin:clinic_client_change", args=[c.pk]), c)
            for c in obj.clients.all()
        ]
        return format_html_join(", ", "{}", ((link,) for link in links)) or "None (not verified, or no match)"

    @admin.display(description="History")
    def history(self, obj):
        return format_html_join(
            "",
            "<div>{} {} {} {}</div>",
            (
                (admin_datetime(e.at), e.get_action_display(), e.actor or e.actor_label, e.detail)
                for e in obj.events.all()
            ),
        )

    def save_model(self, request, obj, form, change):
        if change:
            subject_requests.update_request_details(
                request_id=obj.pk,
                changes={name: form.cleaned_data[name] for name in form.changed_data},
                staff_user=request.user,
            )
            obj.refresh_from_db()
            return
        # Logged by staff (phone, letter): the same intake as the web form.
        created = subject_requests.submit_request(
            request_type=obj.request_type,
            email=obj.email,
            phone=obj.phone,
            details=obj.details,
            channel=obj.channel,
            staff_user=request.user,
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BusinessRuleError as refusal:  # the link was used while the form was open: nothing was written
            self.message_user(request, f"Not saved: {refusal}", messages.ERROR)
            return redirect(request.get_full_path())

    @admin.action(description="Mark verified (identity checked by staff, e.g. in person)", permissions=["change"])
    def mark_verified_by_staff(self, request, queryset):
        for dsr in queryset.filter(status=RequestStatus.RECEIVED):
            try:
                subject_requests.verify_by_staff(request_id=dsr.pk, staff_user=request.user)
            except BusinessRuleError as refusal:  # verified or closed meanwhile
                self.message_user(request, str(refusal), messages.WARNING)
        self.message_user(request, "Verified.", messages.SUCCESS)

    @admin.action(description="Email the verified requester a link to their data export", permissions=["change"])
    def send_export(self, request, queryset):
        for dsr in queryset.filter(
            request_type__in=(RequestType.ACCESS, RequestType.PORTABILITY),
            verified_at__isnull=False,
            status__in=(RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS),
        ):  # a closed request's link stays dead
            try:
                subject_requests.send_export_link(request_id=dsr.pk, staff_user=request.user)
            except BusinessRuleError as refusal:  # closed meanwhile
                self.message_user(request, str(refusal), messages.WARNING)
        self.message_user(request, "Export links sent to verified requesters.", messages.SUCCESS)

    @admin.action(description="Erase now (verified deletion requests; legal holds are refused)", permissions=["change"])
    def erase_now(self, request, queryset):
        for dsr in queryset.filter(request_type=RequestType.ERASURE):
            try:
                fulfil_erasure_request(request_id=dsr.pk, staff_user=request.user)
            except ErasureRefused as refusal:
                self.message_user(request, f"{dsr.reference}: {refusal}", messages.WARNING)
        self.message_user(request, "Done.", messages.SUCCESS)

    @admin.action(description="Lift restriction of processing", permissions=["change"])
    def lift_restriction(self, request, queryset):
        for dsr in queryset.filter(request_type=RequestType.RESTRICTION):
            subject_requests.set_restriction(
                clients=list(dsr.clients.all()), restricted=False, request=dsr, staff_user=request.user
            )
        self.message_user(request, "Restriction lifted.", messages.SUCCESS)

    @admin.action(description="Export the register of selected requests (CSV)", permissions=["view"])
    def export_register_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="privacy-request-register.csv"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "reference",
                "type",
                "status",
                "channel",
                "regime",
                "received",
                "verified",
                "due",
                "extended_to",
                "extension_reason",
                "completed",
                "refusal_basis",
                "outcome",
            ]
        )
        for r in queryset:
            writer.writerow(
                spreadsheet_safe(
                    [
                        r.reference,
                        r.request_type,
                        r.status,
                        r.channel,
                        r.regime,
                        r.received_at,
                        r.verified_at,
                        r.due_at,
                        r.extended_due_at,
                        r.extension_reason,
                        r.completed_at,
                        r.refusal_basis,
                        r.outcome,
                    ]
                )
            )
        subject_requests.audit(
            AuditAction.DATA_EXPORTED, actor=request.user, detail=f"Request register CSV ({queryset.count()} rows)"
        )
        return response

    def get_urls(self):
        return [
            path(
                "<int:pk>/export.zip", self.admin_site.admin_view(self.download_export), name="privacy_request_export"
            ),
            path("<int:pk>/extend/", self.admin_site.admin_view(self.extend_view), name="privacy_request_extend"),
            path("<int:pk>/refuse/", self.admin_site.admin_view(self.refuse_view), name="privacy_request_refuse"),
        ] + super().get_urls()

    def download_export(self, request, pk):
        if not (self.has_view_permission(request) and request.user.has_perm("privacy.export_datasubjectrequest")):
            raise PermissionDenied
        dsr = get_object_or_404(DataSubjectRequest, pk=pk, verified_at__isnull=False)
        bundle = build_bundle(client_ids=list(dsr.clients.values_list("pk", flat=True)), reference=dsr.reference)
        subject_requests.audit(
            AuditAction.DATA_EXPORTED, request=dsr, actor=request.user, detail="Downloaded from the admin"
        )
        response = HttpResponse(bundle, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{dsr.reference}-data.zip"'
        return response

    def _reason_view(self, request, pk, *, title, label, action):
        if not self.has_change_permission(request):
            raise PermissionDenied
        dsr = get_object_or_404(DataSubjectRequest, pk=pk)
        form = ReasonForm(request.POST or None, label=label)
        if request.method == "POST" and form.is_valid():
            try:
                action(dsr, form.cleaned_data["reason"], request.user)
            except BusinessRuleError as problem:
                form.add_error("reason", str(problem))
            else:
                self.message_user(request, f"{dsr.reference}: done.", messages.SUCCESS)
                return redirect("admin:privacy_datasubjectrequest_change", dsr.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {dsr.reference}",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/privacy/reason_form.html", context)

    def extend_view(self, request, pk):
        return self._reason_view(
            request,
            pk,
            title="Extend the deadline",
            label="Reason (sent to the person)",
            action=lambda dsr, reason, user: subject_requests.extend_deadline(
                request_id=dsr.pk, reason=reason, staff_user=user
            ),
        )

    def refuse_view(self, request, pk):
        return self._reason_view(
            request,
            pk,
            title="Refuse the request",
            label="Legal basis (sent to the person)",
            action=lambda dsr, reason, user: subject_requests.refuse_request(
                request_id=dsr.pk, basis=reason, staff_user=user
            ),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        # Its links take ASCII digits: "²" or "abc" in the address is the admin's "no such request", not a 500.
        if is_id(object_id):
            extra_context["privacy_links"] = [
                (reverse("admin:privacy_request_export", args=[object_id]), "Download export (ZIP)"),
                (reverse("admin:privacy_request_extend", args=[object_id]), "Extend the deadline"),
                (reverse("admin:privacy_request_refuse", args=[object_id]), "Refuse with legal basis"),
            ]
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            # The request's page shows the requester's contact details and what they asked.
            subject_requests.audit(
                AuditAction.DATA_VIEWED,
                request=self.get_object(request, object_id),
                actor=request.user,
                detail="Request page viewed",
            )
        return response


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, label, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = label


@admin.register(PrivacyAuditEvent)
class PrivacyAuditEventAdmin(UnlimitedStaffOnlyAdmin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "action", "actor", "actor_label", "request", "client"]
    list_filter = ["action"]
    fields = ["at", "action", "actor", "actor_label", "request", "client", "detail"]
    readonly_fields = fields


class ClientCorrectionForm(ClientForm):
    def clean(self):
        # An erased record is anonymised for good: correct_client refuses it, so the form says so first.
        if self.instance.pk and self.instance.erased_at is not None:
            raise forms.ValidationError("This client was erased; there is nothing to correct.")
        return super().clean()


class AuditedClientAdmin(ClientAdmin):
    """Every staff view of a client's record goes into the privacy audit trail."""

    form = ClientCorrectionForm

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if response.status_code == 200:
            subject_requests.audit(AuditAction.DATA_VIEWED, client_id=int(object_id), actor=request.user)
        return response

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # A correction: saved, audited by field name and propagated (queued texts and emails) by one service.
        from .rectification import correct_client

        correct_client(
            client_id=obj.pk, changes={f: getattr(obj, f) for f in form.changed_data}, staff_user=request.user
        )
        obj.refresh_from_db()


admin.site.unregister(Client)
admin.site.register(Client, AuditedClientAdmin)
