"""Answers every write shares: ``201 Created`` with the ``Location`` of what was created."""

from django.urls import get_script_prefix, get_urlconf
from rest_framework import status
from rest_framework.response import Response
from rest_framework.reverse import preserve_builtin_query_params, reverse

from csoa_portal.api.views import API_NAMESPACE

# (url name, kwarg names, script prefix, urlconf) -> the path reversed with _mark(i) where kwarg i goes.
_PATHS: dict[tuple, str] = {}


def _mark(i: int) -> str:
    """Digits (every converter of a key takes them) that no other kwarg's mark contains."""
    return f"9090909{i}9090909"


def created(request, response: Response, url_name: str, **url_kwargs) -> Response:
    """``response`` as a 201 whose ``Location`` is the absolute API URL ``url_name`` (with ``url_kwargs``).

    Name the created object's own URL; an object without one (a timeline entry, a report,
    a work log) names the URL that lists it. The Idempotency-Key replay keeps the header.
    """
    response.status_code = status.HTTP_201_CREATED
    response["Location"] = location(request, url_name, **url_kwargs)
    return response


def location(request, url_name: str, **url_kwargs) -> str:
    """What DRF's ``reverse(…, request=request)`` answers, without resolving the URL anew for every write.

    Reversing walked the URL patterns under two thread-local lookups per request: a thirtieth of a
    report's CPU under load (issue 16). Keys that are non-negative integers (every created object's)
    go into a path reversed once per URL name; anything else takes DRF's way.
    """
    if getattr(request, "versioning_scheme", None) is not None or not all(
            type(value) is int and value >= 0 for value in url_kwargs.values()):
        return reverse(f"{API_NAMESPACE}:{url_name}", kwargs=url_kwargs, request=request)
    names = tuple(url_kwargs)
    key = (url_name, names, get_script_prefix(), get_urlconf())
    path = _PATHS.get(key)
    if path is None:
        marks = {name: int(_mark(i)) for i, name in enumerate(names)}
        path = _PATHS[key] = reverse(f"{API_NAMESPACE}:{url_name}", kwargs=marks)
    for i, name in enumerate(names):
        path = path.replace(_mark(i), str(url_kwargs[name]), 1)
    return preserve_builtin_query_params(request.build_absolute_uri(path), request)
