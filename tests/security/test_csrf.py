"""CSRF: every state-changing request of a signed-in browser needs the CSRF token.

The cases are generated, not listed: every URL pattern of the URLconf (pages, admin,
accounts) and every unsafe operation of the OpenAPI schema, so a page or endpoint added
later is covered without editing this file. A POST to a URL that only answers GET is
refused as well: Django's CsrfViewMiddleware checks before any view runs.
"""

import re

from django.middleware.csrf import _get_new_csrf_string
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.views import APIView

from csoa_portal.models import AuditEntry
from liaison.models import Event

CSRF_REFUSAL = "CSRF verification failed"
ROUTE_SAMPLES = {"int": "1", "str": "de-csirt", "slug": "early_warning", "path": "1", "uuid": "0" * 32}


def _regex_sample(regex: str) -> str:
    """A URL matching one of the admin's few regex patterns: first alternative, or a word."""
    text = regex.lstrip("^").rstrip("$")
    text = re.sub(r"\(\?P<\w+>([^)|]+)(\|[^)]*)?\)", lambda m: m.group(1) if "." not in m.group(1) else "x", text)
    return text.replace("\\", "")


def _sample(pattern) -> str:
    route = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        return re.sub(r"<(?:(\w+):)?\w+>", lambda m: ROUTE_SAMPLES[m.group(1) or "str"], route)
    return _regex_sample(route)


def _url_patterns(patterns=None, prefix=""):
    """(concrete URL, view callback) for every pattern of the URLconf."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_patterns(pattern.url_patterns, prefix + _sample(pattern))
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + _sample(pattern), pattern.callback


def _is_drf(callback) -> bool:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


PAGE_URLS = sorted({url for url, callback in _url_patterns() if not _is_drf(callback)})


def test_the_generated_urls_cover_the_whole_urlconf():
    every = list(_url_patterns())
    for url, callback in every:
        assert resolve(url).func == callback, url  # each sample resolves back to its own pattern
    assert len(PAGE_URLS) > 50
    assert {"/incidents/new/", "/accounts/login/", "/admin/liaison/organisation/add/", "/tokens/"} <= set(PAGE_URLS)


def test_only_api_views_are_csrf_exempt_and_they_check_csrf_for_sessions_themselves():
    exempt = [(url, cb) for url, cb in _url_patterns() if getattr(cb, "csrf_exempt", False)]

    assert exempt and all(_is_drf(cb) for _, cb in exempt), [url for url, cb in exempt if not _is_drf(cb)]


def _network_admin(network):
    """The victim with the most to lose: a network administrator who is staff and superuser."""
    admin = network["people"]["enisa_admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    return admin


def _browser(login, user):
    client = login(user)
    client.handler.enforce_csrf_checks = True  # a browser is not a test client
    return client


def _writes() -> tuple[int, int]:
    return AuditEntry.objects.count(), Event.objects.count()


def test_every_page_post_without_csrf_token_is_refused_with_403_and_writes_nothing(network, login):
    client = _browser(login, _network_admin(network))
    before = _writes()
    not_refused = []

    for url in PAGE_URLS:
        response = client.post(url, {"name": "x", "title": "x", "text": "x", "code": "xx"})
        if response.status_code != 403 or CSRF_REFUSAL not in response.content.decode():
            not_refused.append((url, response.status_code))

    assert not_refused == []
    assert _writes() == before


def test_every_page_post_with_the_csrf_token_passes_the_csrf_check(network, login):
    """The control: the refusals above come from the CSRF check, not from something else answering 403."""
    admin = _network_admin(network)
    refused = []

    for url in PAGE_URLS:
        client = _browser(login, admin)  # a fresh session: some of these URLs sign out
        client.raise_request_exception = False  # what answers after the check is not this test's concern
        token = _get_new_csrf_string()
        client.cookies["csrftoken"] = token
        response = client.post(url, {"csrfmiddlewaretoken": token})
        if CSRF_REFUSAL in response.content.decode():
            refused.append(url)

    assert refused == []


def _unsafe_operations():
    from django.test import Client

    schema = Client().get("/api/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        for method in operations:
            if method in ("post", "put", "patch", "delete"):
                yield method, re.sub(r"\{\w+\}", "1", path)


def test_every_unsafe_api_operation_refuses_a_session_without_csrf_token(network, login):
    client = _browser(login, network["people"]["de_analyst"])
    operations = list(_unsafe_operations())
    assert len(operations) >= 15
    before = _writes()

    for method, url in operations:
        response = getattr(client, method)(url, "{}", content_type="application/json")
        assert response.status_code == 403, (method, url, response.content)
        assert "CSRF" in response.json()["error"]["message"], (method, url)

    assert _writes() == before
