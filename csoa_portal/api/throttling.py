"""API rate limits: one budget per token, one per signed-in person.

A runaway SOC script or a leaked token must not starve everybody else in the worst week
of a crisis. Budgets are the ``token`` and ``session`` rates of
``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``, read on every request (so a deployment or a
test can change them). Over budget, DRF answers 429 in the API's error shape with a
``Retry-After`` header. Counters live in the default cache (Redis in full mode, shared by
every worker); if the cache is unreachable the request is let through: throttling
protects the portal, it must not take the API down with Redis.
"""

import logging

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from csoa_portal.models import ApiToken

logger = logging.getLogger("csoa_portal.api")


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
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - a cache outage must not become an API outage
            logger.warning("API throttle cache unavailable; request let through", exc_info=True)
            return True

    def get_cache_key(self, request, view):
        return self.key
