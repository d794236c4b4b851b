"""The in-process object cache (clinic.cache.ProcessObjectCache) behind django-cookie-consent's cookie groups."""

import time

import pytest
from cookie_consent.cache import all_cookie_groups
from cookie_consent.models import CookieGroup
from django.core.cache import caches
from django.db import connection


@pytest.fixture
def clock(monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


@pytest.fixture
def groups_cache():
    cache = caches["cookie_consent"]
    cache.clear()
    yield cache
    cache.clear()


def test_it_stores_and_counts_like_djangos_local_memory_cache(groups_cache):
    assert groups_cache.add("n", 1) is True and groups_cache.add("n", 5) is False
    assert groups_cache.incr("n", 2) == 3 and groups_cache.get("n") == 3
    assert groups_cache.get_or_set("missing", lambda: "made") == "made"
    with pytest.raises(ValueError):
        groups_cache.incr("never-set")


def test_every_entry_lives_at_most_max_timeout_seconds(groups_cache, clock):
    groups_cache.set("forever", "a", None)
    groups_cache.set("an-hour", "b", 3600)
    groups_cache.set("ten-seconds", "c", 10)
    clock[0] += 11
    assert groups_cache.get_many(["forever", "an-hour", "ten-seconds"]) == {"forever": "a", "an-hour": "b"}
    clock[0] += 50
    assert groups_cache.get("forever") is None and groups_cache.get("an-hour") is None


@pytest.mark.django_db
def test_a_cookie_group_changed_through_another_process_shows_here_within_a_minute(groups_cache, clock):
    before = all_cookie_groups()["analytics"]
    assert all_cookie_groups()["analytics"] is before  # the object itself: no unpickling on every request
    # Another process's save clears only its own copy: here, only the row changes.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CookieGroup._meta.db_table} SET name = %s WHERE varname = %s", ["Statistics", "analytics"]
        )
    clock[0] += 59
    assert all_cookie_groups()["analytics"].name == before.name
    clock[0] += 2
    assert all_cookie_groups()["analytics"].name == "Statistics"


@pytest.mark.django_db
def test_a_cookie_group_saved_here_shows_at_once(groups_cache):
    group = all_cookie_groups()["marketing"]
    CookieGroup.objects.filter(pk=group.pk).update(name="Advertising")
    assert all_cookie_groups()["marketing"].name == "Advertising"
