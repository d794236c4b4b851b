"""What a location-limited staff member may reach in the admin, in one place.

Deny by default: a staff user sees, picks, filters and edits only records of
the locations on their StaffProfile; only superusers and profiles marked
"All locations" see everything. A staff user with no profile, or a profile with
no locations and no "All locations" tick, sees no location's records.
Each app says how its models are tied to a location with
`register_scope(Model, rule)` (in its admin module: clinic cannot import the
other apps), and every admin that reads personal data builds on
`LocationScopedAdmin` / `LocationScopedInline`, which apply those rules to:
- the changelist, change, history and delete pages (another location's record is a 404);
- the choices of every foreign-key and many-to-many field, so a form, a raw id or
  an autocomplete cannot pick another location's client, practitioner or location
  (the form field's queryset is also what validates the POST);
- every related-field list filter of any admin (registered below).

Which clients a location-limited user sees: those whose preferred location is
one of theirs, or who have an appointment (any status) at one of theirs.
"""

from collections.abc import Callable
from datetime import date, datetime

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .admin_search import FilteredSearchNotice, OutOfRangeLookupsMixin
from .models import Client, Location
from .selectors import staff_location_ids

Rule = Callable[[QuerySet, set], QuerySet]
_rules: dict[type[Model], Rule] = {}


def register_scope(model: type[Model], rule: Rule) -> None:
    """rule(queryset, location_ids) -> the part of queryset tied to those locations."""
    _rules[model] = rule


def rule_for(model: type[Model]) -> Rule | None:
    return _rules.get(model) or _rules.get(model._meta.concrete_model)


def scoped(user, queryset: QuerySet) -> QuerySet:
    """The rows of queryset this staff user may see (all of them when not location-limited)."""
    ids = staff_location_ids(user)
    rule = rule_for(queryset.model)
    if ids is None or rule is None:
        return queryset
    return rule(queryset, ids)


def is_location_limited(user) -> bool:
    """True unless the user works across every location (superuser, or "All locations" on the profile)."""
    return staff_location_ids(user) is not None


def clients_at(ids) -> QuerySet:
    """Clients tied to these locations: preferred location, or an appointment there."""
    return Client.objects.filter(
        Q(preferred_location__in=ids) | Q(pk__in=Client.objects.filter(appointments__location__in=ids).values("pk"))
    )


register_scope(Location, lambda qs, ids: qs.filter(pk__in=ids))
register_scope(Client, lambda qs, ids: qs.filter(pk__in=clients_at(ids).values("pk")))


def _related_queryset(request, db_field, kwargs):
    """The scoped choices of a relation field, or None to leave Django's default."""
    if not is_location_limited(request.user) or rule_for(db_field.related_model) is None:
        return None
    base = kwargs.get("queryset")
    if base is None:
        base = db_field.related_model._default_manager.all()
    return scoped(request.user, base)


class ScopedForeignKeyRawIdWidget(ForeignKeyRawIdWidget):
    """A raw id box that names the record beside it (and links to it) only when the user may pick it.

    Django's widget looks the id up in every record: `?client=<another location's id>` on an add form,
    or the same id posted and refused, showed that client's name next to the box.
    """

    def __init__(self, rel, admin_site, attrs=None, using=None, *, queryset: QuerySet):
        super().__init__(rel, admin_site, attrs=attrs, using=using)
        self.queryset = queryset

    def label_and_url_for_value(self, value):
        key = self.rel.get_related_field().name
        try:
            allowed = self.queryset.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            allowed = False
        return super().label_and_url_for_value(value) if allowed else ("", "")


class ScopedRelationsMixin:
    """Limits the choices of relation fields (forms, raw ids, autocompletes) to the user's locations."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        queryset = _related_queryset(request, db_field, kwargs)
        if queryset is not None:
            kwargs["queryset"] = queryset
            if db_field.related_model is Location:
                # Empty would mean "every location" (a campaign) or "nobody's" (a client they could then not see).
                kwargs["required"] = True
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        if queryset is not None and isinstance(widget, ForeignKeyRawIdWidget):
            formfield.widget = ScopedForeignKeyRawIdWidget(
                widget.rel, widget.admin_site, attrs=widget.attrs, using=widget.db, queryset=queryset
            )
        return formfield

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        queryset = _related_queryset(request, db_field, kwargs)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


MAX_ID = 2**63 - 1  # PostgreSQL's bigint
PREFILL_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")  # the day calendar's "book here" links


def is_id(value) -> bool:
    """A record id as typed in a query string: ASCII digits within the database's range (not "１２", "1e3", NUL)."""
    text = str(value)
    return text.isascii() and text.isdigit() and int(text) <= MAX_ID


def _prefill_datetime(value):
    for fmt in PREFILL_DATETIME_FORMATS:
        try:
            return datetime.strptime(str(value), fmt)
        except ValueError:
            continue
    return None


def safe_prefill(model, initial: dict) -> dict:
    """An add form's prefill from the query string, keeping only what the form can show.

    A relation's id that is not a number, and a date or time that does not parse, are dropped (that field
    opens empty) instead of failing while the form renders (a 500).
    """
    kept = {}
    for name, value in initial.items():
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:  # not a model field: the admin's own (e.g. a search term), left to it
            kept[name] = value
            continue
        values = value if isinstance(value, list) else [value]
        if field.is_relation:
            if all(is_id(v) for v in values):
                kept[name] = value
        elif field.get_internal_type() == "DateTimeField":
            parsed = _prefill_datetime(value)
            if parsed is not None:
                kept[name] = parsed
        elif field.get_internal_type() == "DateField":
            try:
                kept[name] = date.fromisoformat(str(value))
            except ValueError:
                pass
        else:
            kept[name] = value
    return kept


class SafePrefillMixin:
    """Add forms prefilled from the query string never fail on what was typed there (safe_prefill)."""

    def get_changeform_initial_data(self, request):
        return safe_prefill(self.model, super().get_changeform_initial_data(request))


def make_every_add_form_prefill_safe(site) -> list[str]:
    """Give every admin registered on `site` the safe prefill, third-party ones included.

    django-celery-beat's schedules, cookie groups, axes and two-step devices are opened by superusers on our
    admin site; their add forms gave a 500 on `?start_time=abc`. Each is re-registered as a subclass with
    SafePrefillMixin in front, so its own behaviour is otherwise unchanged. Returns the models re-registered.
    """
    wrapped = []
    for model, model_admin in list(site._registry.items()):
        cls = type(model_admin)
        if isinstance(model_admin, SafePrefillMixin):
            continue
        safe_cls = type(f"PrefillSafe{cls.__name__}", (SafePrefillMixin, cls), {"__module__": cls.__module__})
        site.unregister(model)
        site.register(model, safe_cls)
        wrapped.append(model._meta.label)
    return wrapped


class LocationScopedAdmin(SafePrefillMixin, ScopedRelationsMixin, FilteredSearchNotice):
    """Staff tied to locations see and edit only those locations' records (the rules above)."""

    def scope(self, request, queryset):
        return scoped(request.user, queryset)

    def get_queryset(self, request):
        return self.scope(request, super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        """A relation already pointing outside the user's locations is shown, not offered for change.

        (A Milpitas client who prefers Glendale keeps that preference when Milpitas edits them.)
        """
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or not is_location_limited(request.user):
            return fields
        for field in obj._meta.concrete_fields:
            if not field.many_to_one or rule_for(field.related_model) is None or field.name in fields:
                continue
            value = getattr(obj, field.attname)
            if (
                value is not None
                and not scoped(request.user, field.related_model._default_manager.filter(pk=value)).exists()
            ):
                fields.append(field.name)
        return fields

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django redirects to the admin index with "doesn't exist"; a plain 404 says no more.
        raise Http404

    def save_related(self, request, form, formsets, change):
        # A many-to-many field offered only the user's locations; keep the links they could not see
        # (a practitioner who also works at Glendale keeps Glendale when Milpitas edits them).
        hidden = {}
        if change and is_location_limited(request.user):
            for field in form.instance._meta.many_to_many:
                if field.name in form.cleaned_data and rule_for(field.related_model) is not None:
                    current = getattr(form.instance, field.name).all()
                    visible = scoped(request.user, field.related_model._default_manager.all())
                    hidden[field.name] = list(current.exclude(pk__in=visible.values("pk")).values_list("pk", flat=True))
        super().save_related(request, form, formsets, change)
        for name, pks in hidden.items():
            if pks:
                getattr(form.instance, name).add(*pks)


class LocationScopedInline(ScopedRelationsMixin):
    """An inline that lists only rows of the user's locations (mix in before the inline class)."""

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))


class UnlimitedStaffOnlyAdmin(OutOfRangeLookupsMixin):
    """Pages for staff who work across every location (privacy requests, the audit trail).

    Only superusers and profiles marked "All locations" reach them. Any other
    staff user (limited to locations, or with none) gets 403 even if a role grants the permission:
    these records name people of every location.
    """

    def has_module_permission(self, request):
        return not is_location_limited(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return not is_location_limited(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return not is_location_limited(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return not is_location_limited(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not is_location_limited(request.user) and super().has_delete_permission(request, obj)


class NoSecretLookupsMixin:
    """Fields staff must never learn (a text's body with a code, a code's hash) take no query-string filter.

    Django's changelist accepts `?<local field>__<lookup>=` for any local field; on such a field
    `?body__contains=<guess>` answers yes or no, so the value could be read a digit at a time.
    """

    secret_lookup_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        if lookup.split("__", 1)[0] in self.secret_lookup_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-field filter that lists only the user's locations, practitioners, campaigns..."""

    def field_choices(self, field, request, model_admin):
        if not is_location_limited(request.user) or rule_for(field.related_model) is None:
            return super().field_choices(field, request, model_admin)
        queryset = scoped(request.user, field.related_model._default_manager.all())
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]


# Ahead of Django's own related-field filter, for every admin's list_filter.
admin.FieldListFilter.register(lambda f: f.remote_field, ScopedRelatedFieldListFilter, take_priority=True)
