"""Searching from a filtered admin list says it searched only that list, on every list with search and filters.

A privacy officer filtered to "open" requests who searches an email otherwise reads "0 results" as "no request".
"""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from clinic.admin_search import FilteredSearchNotice
from privacy.requests_models import RequestType
from privacy.subject_requests import submit_request

pytestmark = pytest.mark.django_db

# Lists of third-party apps (task schedules, login attempts, cookie definitions, staff users) are the admin's own.
PROJECT_APPS = {"clinic", "privacy", "appointments", "messaging", "payments", "waitlist", "accounts", "clinical_forms"}


def test_every_project_list_with_a_search_box_and_filters_says_when_a_search_was_filtered():
    assert {config.label for config in apps.get_app_configs()} >= PROJECT_APPS
    silent = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PROJECT_APPS
        and model_admin.search_fields
        and model_admin.list_filter
        and not isinstance(model_admin, FilteredSearchNotice)
    ]
    assert silent == []


def test_a_search_in_the_filtered_register_of_privacy_requests_says_so_and_links_to_all(admin_client):
    request = submit_request(request_type=RequestType.ACCESS, email="dana.demo@example.com")
    url = reverse("admin:privacy_datasubjectrequest_changelist")
    filtered = admin_client.get(url, {"request_type__exact": RequestType.ERASURE, "q": "dana.demo"}).content.decode()
    assert "Searched only the filtered list" in filtered and 'href="?q=dana.demo"' in filtered
    everything = admin_client.get(url, {"q": "dana.demo"}).content.decode()
    assert "Searched only the filtered list" not in everything and request.reference in everything
