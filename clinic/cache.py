"""Cache backends: Django's Redis cache keeping one client per pool, and an in-process cache of objects.

ReusingRedisCache: Django's Redis cache, keeping one Redis client per connection pool.

Django's RedisCacheClient builds a new redis.Redis object for every cache
operation; with redis-py 8 that construction costs about as much as the round
trip itself, and the availability page does one or two per request. The client
holds no per-request state (the pool hands out connections), so one per pool is
enough. Django keeps a cache backend per thread, and the pool reconnects after a
fork, so nothing here is shared across threads or processes.
"""

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient


class ObjectMemoryCache(LocMemCache):
    """Django's local-memory cache keeping the objects themselves rather than pickles of them.

    For small read-only objects read on every request: django-cookie-consent's
    cookie groups, which it reads from its cache in its middleware on every
    request, where unpickling them cost about a tenth of a cached page. Every
    thread of the process gets the same object, so callers must not change what
    they get. OPTIONS["MAX_TIMEOUT"] (seconds) caps every entry's lifetime, so a
    change saved through another process shows here within that time.
    """

    def __init__(self, name, params):
        super().__init__(name, params)
        self._max_timeout = params.get("OPTIONS", {}).get("MAX_TIMEOUT")

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        if self._max_timeout is not None:
            timeout = self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout
            timeout = self._max_timeout if timeout is None else min(timeout, self._max_timeout)
        return super().get_backend_timeout(timeout)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._set(key, value, timeout)
                return True
            return False

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                return default
            self._cache.move_to_end(key, last=False)
            return self._cache[key]

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            self._set(key, value, timeout)

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        with self._lock:
            if self._has_expired(key):
                self._delete(key)
                raise ValueError(f"Key '{key}' not found")
            self._cache[key] += delta
            self._cache.move_to_end(key, last=False)
            return self._cache[key]
