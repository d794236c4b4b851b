from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from . import identity
from .admin_scoping import LocationScopedAdmin  # the other apps' admins import it from here too
from .admin_search import OutOfRangeLookupsMixin
from .models import Client, Location, StaffProfile
from .selectors import phone_search_term

# Other apps add their inlines here (appointments, consent history) so this
# app need not import them: dependencies point one way.
client_inlines = []
# Read-only facts other apps show on a client's page (callables taking the client), e.g. reported health changes.
# A fact marked `takes_viewer = True` is also given the staff user looking (viewer=...), to leave out a link that
# user may not follow.
client_facts = []


class FactForViewer:
    """A fact (shown on a client's or appointment's page) bound to the staff user looking at the page.

    The admin tells read-only fields from form fields by comparing them, and asks for them several times per
    page: two bindings of one fact for one user compare equal.
    """

    def __init__(self, fact, user):
        self.fact, self.user = fact, user
        self.__name__ = fact.__name__
        self.short_description = getattr(fact, "short_description", fact.__name__)

    def __call__(self, client):
        return self.fact(client, viewer=self.user)

    def __eq__(self, other):
        return isinstance(other, FactForViewer) and (self.fact, self.user.pk) == (other.fact, other.user.pk)

    def __hash__(self):
        return hash((self.fact, self.user.pk))


def facts_for_viewer(facts, user):
    """The facts as this user sees them: those marked `takes_viewer` get the user (viewer=...)."""
    return [FactForViewer(fact, user) if getattr(fact, "takes_viewer", False) else fact for fact in facts]


class ReadOnlyAdminMixin:
    """For records that are evidence (logs, ledgers): nobody adds, edits or deletes them in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Location)
class LocationAdmin(LocationScopedAdmin):
    list_display = ["name", "phone", "timezone", "is_active"]
    list_filter = ["is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


# A restriction of processing and a number's delivery problem are the privacy officer's business:
# the client form shows them only to users with this permission (the Privacy officer role's).
INTERNAL_FIELDS_PERMISSION = "privacy.change_datasubjectrequest"
INTERNAL_CLIENT_FIELDS = ("processing_restricted", "mobile_phone_problem")


class ClientForm(forms.ModelForm):
    """The client form. Their language (texts and emails) is a choice of the site's languages; a form
    posted without it (an older page, a script) keeps the one on file rather than failing the save."""

    class Meta:
        model = Client
        fields = "__all__"  # noqa: DJ007 - as the admin's default form: get_fields and get_exclude choose

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "language" in self.fields:
            self.fields["language"].required = False
            self.fields["language"].help_text = "Texts and emails to the client are written in it."

    def clean_language(self):
        return self.cleaned_data.get("language") or self.instance.language or settings.LANGUAGE_CODE


@admin.register(Client)
class ClientAdmin(LocationScopedAdmin):
    form = ClientForm
    list_display = ["last_name", "first_name", "email", "mobile_phone", "preferred_location", "created_at"]
    list_filter = ["preferred_location"]
    search_fields = ["first_name", "last_name", "email", "mobile_phone"]
    # A restriction of processing is set and lifted through the person's privacy request
    # (audited there), never a tick box.
    readonly_fields = [
        "processing_restricted",
        "adult_attested_at",
        "email_verified_at",
        "phone_verified_at",
        "created_at",
        "updated_at",
    ]
    change_form_template = "admin/clinic/client/change_form.html"

    def _hidden_fields(self, request):
        # Internal fields: only the privacy officer's (and superusers') forms show them.
        return () if request.user.has_perm(INTERNAL_FIELDS_PERMISSION) else INTERNAL_CLIENT_FIELDS

    def get_fields(self, request, obj=None):
        hidden = self._hidden_fields(request)
        return [f for f in super().get_fields(request, obj) if f not in hidden]

    def get_readonly_fields(self, request, obj=None):
        hidden = self._hidden_fields(request)
        fields = [f for f in super().get_readonly_fields(request, obj) if f not in hidden]
        return [*fields, *facts_for_viewer(client_facts, request.user)] if obj is not None else fields

    def get_exclude(self, request, obj=None):
        return [*(super().get_exclude(request, obj) or ()), *self._hidden_fields(request)]

    def lookup_allowed(self, lookup, value, request=None):
        # A query-string filter on a hidden field (?processing_restricted=1) would answer what the form hides.
        if lookup.split("__", 1)[0] in INTERNAL_CLIENT_FIELDS and (
            request is None or not request.user.has_perm(INTERNAL_FIELDS_PERMISSION)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(self, request, queryset, search_term):
        phone = phone_search_term(search_term)
        if phone:
            return queryset.filter(mobile_phone=phone), False
        return super().get_search_results(request, queryset, search_term)

    def get_inlines(self, request, obj):
        return client_inlines if obj else []

    # --- Possible duplicates and merging (clinic.identity) ---

    def possible_duplicates(self, request, client):
        """Records that may be the same person, among those this staff user may see."""
        return (
            self.get_queryset(request)
            .filter(pk__in=identity.possible_duplicates(client).values("pk"))
            .order_by("created_at", "pk")
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        client = self.get_object(request, object_id)
        if client is not None and self.has_change_permission(request, client):
            extra_context["possible_duplicates"] = [
                (dup, reverse("admin:clinic_client_merge", args=[client.pk, dup.pk]))
                for dup in self.possible_duplicates(request, client)
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:pk>/merge/<int:duplicate_pk>/",
                self.admin_site.admin_view(self.merge_view),
                name="clinic_client_merge",
            ),
        ] + super().get_urls()

    def merge_view(self, request, pk, duplicate_pk):
        """Confirm, with a reason, that the duplicate is this client; then merge it into this one."""
        scoped = self.get_queryset(request)
        keep = get_object_or_404(scoped, pk=pk)
        duplicate = get_object_or_404(scoped, pk=duplicate_pk)
        if not (self.has_change_permission(request, keep) and self.has_change_permission(request, duplicate)):
            raise PermissionDenied
        form = MergeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                identity.merge_clients(
                    keep_id=keep.pk,
                    duplicate_id=duplicate.pk,
                    staff_user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except identity.MergeRefused as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Merged record #{duplicate_pk} into this client.", messages.SUCCESS)
                return redirect("admin:clinic_client_change", keep.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge into this client",
            "opts": self.model._meta,
            "keep": keep,
            "duplicate": duplicate,
            "keep_appointments": keep.appointments.count() if hasattr(keep, "appointments") else 0,
            "duplicate_appointments": duplicate.appointments.count() if hasattr(duplicate, "appointments") else 0,
            "form": form,
        }
        return TemplateResponse(request, "admin/clinic/client/merge.html", context)


class MergeForm(forms.Form):
    reason = forms.CharField(
        label="Why are these the same person? (kept in the privacy audit trail)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=500,
    )


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ["locations"]
    fields = ["all_locations", "locations"]
    verbose_name_plural = 'Locations this person works at (none and not "All locations" = sees no records)'


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(OutOfRangeLookupsMixin, UserAdmin):
    inlines = [StaffProfileInline]
