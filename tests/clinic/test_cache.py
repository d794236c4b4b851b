"""The Redis cache backend (clinic.cache): Django's, keeping one Redis client per pool."""

import pytest
from django.core.cache import caches
from django.test import override_settings

from tests.support.processes import requires_redis, shared_redis_db

pytestmark = requires_redis


@pytest.fixture
def redis_cache():
    url = shared_redis_db(12)
    with override_settings(CACHES={"default": {"BACKEND": "clinic.cache.ReusingRedisCache", "LOCATION": url}}):
        cache = caches["default"]
        yield cache
        cache.clear()


def test_the_cache_stores_reads_and_counts_like_djangos(redis_cache):
    redis_cache.set("page", {"body": "week"}, 30)
    redis_cache.set("version", 1, None)
    assert redis_cache.get_many(["version", "page", "missing"]) == {"version": 1, "page": {"body": "week"}}
    assert redis_cache.incr("version") == 2
    assert redis_cache.add("version", 9) is False


def test_operations_share_one_client_instead_of_building_one_each(redis_cache):
    redis_cache.get("a")
    client = redis_cache._cache.get_client()
    redis_cache.set("a", 1, 30)
    assert redis_cache._cache.get_client(write=True) is client
