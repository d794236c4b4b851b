"""Django's Redis cache, keeping one Redis client per connection pool.

Django's RedisCacheClient builds a new redis.Redis object for every cache
operation; with redis-py 8 that construction costs about as much as the round
trip itself, and the availability page does one or two per request. The client
holds no per-request state (the pool hands out connections), so one per pool is
enough. Django keeps a cache backend per thread, and the pool reconnects after a
fork, so nothing here is shared across threads or processes.
"""

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
