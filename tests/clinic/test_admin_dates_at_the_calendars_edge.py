"""No admin list or page 500s on a date at the calendar's edge typed into its address.

`?created_at__year=9999` (any date-time field of any list) and the date drill-down's December 9999 overflowed
while the list was built; the daily takings page linked the day after 31 December 9999. Each gets Django's
answer to a bad filter, or the form's message.
"""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from tests.support.builders import LocationFactory, StaffFactory
from tests.support.front_desk import front_desk_user

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"clinic", "appointments", "messaging", "privacy", "payments", "waitlist", "clinical_forms", "auth"}


def _lists_with_a_date_time():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        field = next((f for f in model._meta.fields if isinstance(f, models.DateTimeField)), None)
        if field is not None:
            yield pytest.param(model, field.name, id=model._meta.label)
        if model_admin.date_hierarchy:
            yield pytest.param(model, model_admin.date_hierarchy, id=f"{model._meta.label}-drill-down")


@pytest.mark.parametrize("model, field", list(_lists_with_a_date_time()))
def test_a_year_9999_filter_on_any_admin_list_is_a_bad_filter_not_a_500(client, model, field):
    client.force_login(StaffFactory(is_superuser=True))
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    for query in (f"{field}__year=9999", f"{field}__year=9999&{field}__month=12&{field}__day=31"):
        response = client.get(f"{url}?{query}")
        assert response.status_code in (200, 302), (query, response.status_code)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01"])
def test_the_daily_takings_refuse_a_day_outside_1900_to_2999_with_a_message(client, day):
    client.force_login(front_desk_user(LocationFactory()))
    response = client.get(reverse("admin:payments_payment_takings") + f"?day={day}")
    assert response.status_code == 200
    assert "Choose a day from 1900 to 2999." in response.content.decode()
