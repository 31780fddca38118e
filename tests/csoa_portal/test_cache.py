"""The Redis cache backend keeps one client per connection pool (csoa_portal/cache.py)."""

import os
import uuid

import pytest

from csoa_portal.cache import RedisCache


def test_the_redis_cache_reuses_one_client_for_every_operation():
    backend = RedisCache("redis://127.0.0.1:6379/15", {})  # no connection is opened before a command
    reading, writing = backend._cache.get_client(), backend._cache.get_client(write=True)
    assert reading is writing
    assert reading.connection_pool is backend._cache._get_connection_pool(False)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (full mode)")
def test_the_configured_cache_stores_reads_and_deletes_through_the_shared_client():
    from django.core.cache import caches

    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    key = f"test-cache-{uuid.uuid4()}"
    cache.set(key, [1.5, 2.5], 30)
    assert cache.get(key) == [1.5, 2.5]
    cache.delete(key)
    assert cache.get(key, "gone") == "gone"
