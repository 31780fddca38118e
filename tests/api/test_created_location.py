"""The ``Location`` of a 201 is what DRF's ``reverse`` answers, for every URL a write names."""

import pytest
from django.test import RequestFactory, override_settings
from rest_framework.request import Request
from rest_framework.reverse import reverse

from csoa_portal.api.responses import location
from csoa_portal.api.views import API_NAMESPACE

# Every URL name csoa_portal.api.responses.created is given in the code, with its kwargs.
NAMED = [
    ("incident-detail", {"pk": 7}), ("incident-escalations", {"pk": 12}), ("incident-timeline", {"pk": 0}),
    ("task-detail", {"pk": 31}), ("assistance-request-detail", {"pk": 5}), ("assistance-request-report", {"pk": 5}),
    ("engagement-detail", {"pk": 9}), ("engagement-updates", {"pk": 9}), ("engagement-work", {"pk": 9}),
    ("lesson-detail", {"pk": 3}), ("reserve-provider-detail", {"code": "acme-csirt"}), ("review-detail", {"pk": 2}),
    ("warning-detail", {"pk": 1234567890123}),
]


def _request(path="/api/v1/incidents/", **extra):
    return Request(RequestFactory().post(path, **extra))


@pytest.mark.parametrize(("name", "kwargs"), NAMED)
def test_location_is_what_reversing_the_url_answers(name, kwargs):
    request = _request()
    assert location(request, name, **kwargs) == reverse(f"{API_NAMESPACE}:{name}", kwargs=kwargs, request=request)


@override_settings(ALLOWED_HOSTS=["testserver", "portal.example.eu"])
def test_location_differs_per_key_host_and_scheme():
    first = location(_request(), "incident-detail", pk=1)
    assert first == "http://testserver/api/v1/incidents/1/"
    assert location(_request(), "incident-detail", pk=90909090) == "http://testserver/api/v1/incidents/90909090/"
    assert location(_request(HTTP_HOST="portal.example.eu", secure=True), "incident-detail", pk=2) == \
        "https://portal.example.eu/api/v1/incidents/2/"


def test_location_keeps_the_format_parameter_as_reverse_does():
    request = _request("/api/v1/incidents/?format=json")
    assert location(request, "incident-detail", pk=4) == \
        reverse(f"{API_NAMESPACE}:incident-detail", kwargs={"pk": 4}, request=request)
