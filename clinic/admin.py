from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from .admin_scoping import LocationScopedAdmin  # noqa: F401 - the other apps' admins import it from here
from .models import Client, Location, StaffProfile
from .selectors import phone_search_term

# Other apps add their inlines here (appointments, consent history) so this
# app need not import them: dependencies point one way.
client_inlines = []


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


@admin.register(Client)
class ClientAdmin(LocationScopedAdmin):
    list_display = ["last_name", "first_name", "email", "mobile_phone", "preferred_location", "created_at"]
    list_filter = ["preferred_location"]
    search_fields = ["first_name", "last_name", "email", "mobile_phone"]
    readonly_fields = ["adult_attested_at", "created_at", "updated_at"]

    def get_search_results(self, request, queryset, search_term):
        phone = phone_search_term(search_term)
        if phone:
            return queryset.filter(mobile_phone=phone), False
        return super().get_search_results(request, queryset, search_term)

    def get_inlines(self, request, obj):
        return client_inlines if obj else []


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ["locations"]
    verbose_name_plural = "Locations this person works at (none = all)"


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
