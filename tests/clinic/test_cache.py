"""The shared cache (django-redis in production): what the availability pages and the rate limits rely on."""

import secrets
import time

import pytest
from django.core.cache import caches
from django.test import override_settings
from redis.exceptions import ConnectionError as RedisConnectionError

from clinic.ratelimits import CACHE_UNAVAILABLE
from tests.support.processes import requires_redis


@pytest.fixture
def production_cache(settings):
    """The project's Redis cache as configured from REDIS_URL, under a key prefix of this test's own."""
    config = {**settings.CACHES["default"], "KEY_PREFIX": f"test-{secrets.token_hex(4)}"}
    with override_settings(CACHES={"default": config}):
        cache = caches["default"]
        yield cache
        cache.delete_many(["page", "version", "missing"])


@requires_redis
def test_the_shared_cache_stores_reads_and_counts(production_cache):
    assert production_cache.__class__.__module__.startswith("django_redis")
    production_cache.set("page", {"body": "week"}, 30)
    production_cache.set("version", 1, None)
    assert production_cache.get_many(["version", "page", "missing"]) == {"version": 1, "page": {"body": "week"}}
    assert production_cache.incr("version") == 2
    assert production_cache.add("version", 9) is False


def test_an_unreachable_redis_fails_within_seconds_with_the_error_the_callers_catch(settings):
    config = {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    if "django_redis" not in config["BACKEND"]:
        config = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
        config["OPTIONS"] = {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1}
    with override_settings(CACHES={"default": config}):
        began = time.monotonic()
        with pytest.raises(CACHE_UNAVAILABLE) as raised:
            caches["default"].get("page")
    assert isinstance(raised.value, RedisConnectionError) and time.monotonic() - began < 3
