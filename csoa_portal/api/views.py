"""The API root: a signpost to every collection, so a client starts from one URL."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from csoa_portal.api.schema import error_responses

API_NAMESPACE = "api"


def _collections(patterns, prefix: str = "") -> dict[str, str]:
    """Route -> URL name of each parameterless route below ``/api/v1/``: the collections.

    Read from the URLconf, so an app that adds endpoints appears here without editing this file.
    """
    found = {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if hasattr(pattern, "url_patterns"):
            found |= _collections(pattern.url_patterns, route)
        elif pattern.name and route.strip("/") and not pattern.pattern.converters:
            found[route.strip("/")] = pattern.name
    return found


class ApiRootApi(APIView):
    """Links to every collection of the API, its schema and its interactive docs."""

    summaries = {"get": "List the API's collections"}

    @extend_schema(
        operation_id="api_root",
        responses={
            200: {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
            **error_responses(401, 403),
        },
        description="Collection name → absolute URL.",
    )
    def get(self, request):
        from csoa_portal.api.urls import urlpatterns  # the URLconf imports this module

        links = {
            route: reverse(f"{API_NAMESPACE}:{name}", request=request)
            for route, name in _collections(urlpatterns).items()
        }
        links["schema"] = reverse("api-schema", request=request)
        links["docs"] = reverse("api-docs", request=request)
        return Response(links)
