"""The default cache in full mode: Django's Redis backend, one Redis client per connection pool.

Django's ``RedisCacheClient`` builds a ``redis.Redis`` for every operation (copying its table of
response callbacks each time): two of them per API request for the throttle's read and write cost
more than a round trip to Redis (bench/incidents_list.py). A client only wraps its pool (which
holds the connections and reconnects after a Redis restart or a fork) and is safe to share, so
one is kept per pool; everything else is Django's.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache, RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
