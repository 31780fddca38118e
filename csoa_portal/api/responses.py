"""Answers every write shares: ``201 Created`` with the ``Location`` of what was created."""

from rest_framework import status
from rest_framework.response import Response
from rest_framework.reverse import reverse

from csoa_portal.api.views import API_NAMESPACE


def created(request, response: Response, url_name: str, **url_kwargs) -> Response:
    """``response`` as a 201 whose ``Location`` is the absolute API URL ``url_name`` (with ``url_kwargs``).

    Name the created object's own URL; an object without one (a timeline entry, a report,
    a work log) names the URL that lists it. The Idempotency-Key replay keeps the header.
    """
    response.status_code = status.HTTP_201_CREATED
    response["Location"] = reverse(f"{API_NAMESPACE}:{url_name}", kwargs=url_kwargs, request=request)
    return response
