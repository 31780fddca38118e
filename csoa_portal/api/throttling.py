"""API rate limits: one budget per token, one per signed-in person.

A runaway SOC script or a leaked token must not starve everybody else in the worst week
of a crisis. Budgets are the ``token`` and ``session`` rates of
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read on every request (so a deployment or a
test can change them). Over budget, DRF answers 429 in the API's error shape with a
``Retry-After`` header. Counters live in the default cache (Redis in full mode, shared by
every worker); if the cache is unreachable the request is let through: throttling
protects the portal, it must not take the API down with Redis.

With Redis the window is a sorted set of the budget's request times, checked and extended by
one script: one round trip per request, and concurrent requests of one token cannot both take
the last place. DRF's own way (embedded mode's in-process cache) reads the whole history as a
pickled list and writes it back: two round trips carrying up to a budget of timestamps each.
"""

import itertools
import logging
import math
import os

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from csoa_portal.models import ApiToken

logger = logging.getLogger("csoa_portal.api")

# KEYS[1]: the window. ARGV: now, its length in seconds, the budget, a unique member for this request.
# Answers {1} when the request is counted, else {0, the time the oldest counted request leaves it}.
_SLIDING_WINDOW = """
local key, now, length, budget = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local kind = redis.call('TYPE', key)['ok']
if kind ~= 'zset' and kind ~= 'none' then redis.call('DEL', key) end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - length)
if redis.call('ZCARD', key) >= budget then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, oldest[2]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(length))
return {1}
"""
_script = Script(None, _SLIDING_WINDOW.encode())  # each call names its client (EVALSHA; loaded when unknown)
_members = itertools.count()


class PrincipalRateThrottle(SimpleRateThrottle):
    """Sliding-window budget keyed by the token (its public prefix) or the person (their id)."""

    cache_format = "throttle_%(scope)s_%(ident)s"

    def __init__(self):  # the scope depends on the request: chosen in allow_request
        self.scope = self.rate = self.key = None

    def allow_request(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken):
            self.scope, ident = "token", token.prefix
        elif getattr(request.user, "is_authenticated", False):
            self.scope, ident = "session", request.user.pk
        else:
            return True  # unauthenticated requests are refused with 401 before throttling
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.cache_format % {"scope": self.scope, "ident": ident}
        self.retry_at = None
        try:
            backend = caches[DEFAULT_CACHE_ALIAS] if self.cache is SimpleRateThrottle.cache else None
            if isinstance(backend, RedisCache):
                return self._allow_in_redis(backend)
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - a cache outage must not become an API outage
            logger.warning("API throttle cache unavailable; request let through", exc_info=True)
            return True

    def _allow_in_redis(self, backend: RedisCache) -> bool:
        self.now = self.timer()
        answer = _script(keys=[backend.make_and_validate_key(self.key)],
                         args=[repr(self.now), self.duration, self.num_requests,
                               f"{self.now!r}:{os.getpid()}:{next(_members)}"],
                         client=backend._cache.get_client(self.key, write=True))
        if answer[0]:
            return True
        self.retry_at = float(answer[1]) + self.duration
        return False

    def wait(self):
        """Seconds until the window has room again (at least one, as Retry-After counts whole seconds)."""
        if self.retry_at is None:
            return super().wait()
        return max(math.ceil(self.retry_at - self.timer()), 1)

    def get_cache_key(self, request, view):
        return self.key
