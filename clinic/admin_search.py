"""A search typed into a filtered admin list says it searched only that list, with a link to search everything.

A front desk user filtered to "Today" who searches a client's name otherwise sees "0 results" and
concludes the client has no appointment.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, TO_FIELD_VAR
from django.utils.html import format_html

# Query parameters that are not filters.
_NOT_FILTERS = {SEARCH_VAR, ORDER_VAR, PAGE_VAR, IS_POPUP_VAR, TO_FIELD_VAR, "_changelist_filters", "e", "all"}


class OutOfRangeLookupsMixin:
    """A date filter at the calendar's edge (?created_at__year=9999, the date drill-down's year 9999) overflows
    while the list is built (OverflowError, or ValueError "year 10000 is out of range"): Django's answer to a
    bad filter (the list again with ?e=1), never a 500."""

    def get_changelist_instance(self, request):
        try:
            return super().get_changelist_instance(request)
        except (OverflowError, ValueError) as exc:
            raise IncorrectLookupParameters(exc) from exc


class FilteredSearchNotice(OutOfRangeLookupsMixin, admin.ModelAdmin):
    def changelist_view(self, request, extra_context=None):
        term = request.GET.get(SEARCH_VAR, "").strip()
        filters = [key for key in request.GET if key not in _NOT_FILTERS]
        if term and filters and IS_POPUP_VAR not in request.GET:
            messages.info(
                request,
                format_html(
                    "Searched only the filtered list (filters are on the right). "
                    '<a href="?{}">Search all {} for “{}”</a>.',
                    urlencode({SEARCH_VAR: term}),
                    self.model._meta.verbose_name_plural,
                    term,
                ),
            )
        return super().changelist_view(request, extra_context)
