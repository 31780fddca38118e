"""API rate limits: a burst over a token's or a person's budget gets 429 in the error shape, with Retry-After.

Sign-in rate limits (django-axes, and django-otp's per-device throttle) are proven in
tests/accounts/test_lockout.py and tests/accounts/test_login.py.
"""

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from csoa_portal.api.throttling import PrincipalRateThrottle
from tests.api.support import assert_error

URL = "/api/v1/member-states/"
BUDGET = 3


@pytest.fixture
def small_budgets(settings):
    """Budgets small enough to exhaust in a test; the counters touched are removed afterwards."""
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": f"{BUDGET}/min", "session": f"{BUDGET}/min"},
    }
    keys = []

    def key(scope, ident):
        name = PrincipalRateThrottle.cache_format % {"scope": scope, "ident": ident}
        cache.delete(name)  # only these keys: never clear a cache other people's data may share
        keys.append(name)

    yield key
    cache.delete_many(keys)


@pytest.fixture
def bearer():
    return lambda raw: Client(headers={"Authorization": f"Bearer {raw}"})


def _prefix(raw_token: str) -> str:
    return raw_token.split("_")[1]


def _assert_throttled(response):
    assert_error(response, 429, code="throttled", says="throttled")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60


def test_a_token_over_its_budget_gets_429_with_retry_after_and_other_tokens_are_unaffected(
        network, token_for, bearer, small_budgets):
    first, second = token_for(network["orgs"]["de-csirt"], "read"), token_for(network["orgs"]["de-csirt"], "read")
    small_budgets("token", _prefix(first))
    small_budgets("token", _prefix(second))
    client = bearer(first)

    statuses = [client.get(URL).status_code for _ in range(BUDGET)]

    assert statuses == [200] * BUDGET
    _assert_throttled(client.get(URL))
    assert bearer(second).get(URL).status_code == 200


def test_a_person_over_their_budget_gets_429_across_their_sessions(network, login, small_budgets):
    analyst = network["people"]["de_analyst"]
    small_budgets("session", analyst.pk)
    first, second = login(analyst), login(analyst)

    statuses = [first.get(URL).status_code for _ in range(BUDGET)]

    assert statuses == [200] * BUDGET
    _assert_throttled(second.get(URL))  # the budget is the person's, not the browser tab's
    colleague = network["people"]["fr_analyst"]
    small_budgets("session", colleague.pk)
    assert login(colleague).get(URL).status_code == 200


def test_throttled_writes_are_refused_before_anything_is_written(network, token_for, bearer, small_budgets):
    from incidents.models import Incident

    raw = token_for(network["orgs"]["de-csirt"], "read,write")
    small_budgets("token", _prefix(raw))
    client = bearer(raw)
    for _ in range(BUDGET):
        client.get(URL)

    response = client.post("/api/v1/incidents/", {"title": "x", "aware_at": "2026-01-01T00:00:00Z"},
                           content_type="application/json")

    _assert_throttled(response)
    assert not Incident.objects.exists()


def test_an_unreachable_throttle_cache_lets_requests_through(network, token_for, bearer, small_budgets, monkeypatch):
    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

        set = get

    monkeypatch.setattr(PrincipalRateThrottle, "cache", Down())
    client = bearer(token_for(network["orgs"]["de-csirt"], "read"))

    assert [client.get(URL).status_code for _ in range(BUDGET + 2)] == [200] * (BUDGET + 2)



# --- The Redis window (full mode): one script per request ----------------------------------------

def _redis_backend():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        pytest.skip("the Redis window is full mode's: embedded mode's cache is in process")
    return backend


def _token_request(prefix: str):
    from types import SimpleNamespace

    from csoa_portal.models import ApiToken

    return SimpleNamespace(auth=ApiToken(prefix=prefix), user=None)


def test_concurrent_requests_of_one_token_never_take_more_than_its_budget(small_budgets):
    """Read-then-write counters let a burst through together; the script counts each request exactly once."""
    import threading

    _redis_backend()
    small_budgets("token", "burst")
    request, results, start = _token_request("burst"), [], threading.Barrier(12)

    def one():
        start.wait()
        results.append(PrincipalRateThrottle().allow_request(request, None))

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * (12 - BUDGET) + [True] * BUDGET


def test_retry_after_is_when_the_oldest_counted_request_leaves_the_window(small_budgets, monkeypatch):
    _redis_backend()
    small_budgets("token", "clock")
    request, now = _token_request("clock"), [1000.0]
    monkeypatch.setattr(PrincipalRateThrottle, "timer", lambda self: now[0])
    for step in range(BUDGET):
        now[0] = 1000.0 + 10 * step
        assert PrincipalRateThrottle().allow_request(request, None)

    now[0] = 1025.0
    refused = PrincipalRateThrottle()
    assert not refused.allow_request(request, None)
    assert refused.wait() == 35  # the request of 1000.0 leaves the minute at 1060.0
    now[0] = 1060.5
    assert PrincipalRateThrottle().allow_request(request, None)


def test_a_counter_left_in_the_old_format_is_replaced_not_an_error(small_budgets, caplog):
    """A rolling upgrade meets DRF's pickled history under the same key: counting starts afresh."""
    backend = _redis_backend()
    small_budgets("token", "legacy")
    backend.set(PrincipalRateThrottle.cache_format % {"scope": "token", "ident": "legacy"}, [1.0, 2.0], 60)
    request = _token_request("legacy")

    results = [PrincipalRateThrottle().allow_request(request, None) for _ in range(BUDGET + 1)]

    assert results == [True] * BUDGET + [False]
    assert "throttle cache unavailable" not in caplog.text


def test_an_unreachable_redis_lets_requests_through(small_budgets, monkeypatch, caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from csoa_portal.api import throttling

    _redis_backend()
    small_budgets("token", "down")

    def down(*args, **kwargs):
        raise RedisConnectionError("Redis is restarting")

    monkeypatch.setattr(throttling, "_script", down)
    request = _token_request("down")

    assert all(PrincipalRateThrottle().allow_request(request, None) for _ in range(BUDGET + 2))
    assert "request let through" in caplog.text
