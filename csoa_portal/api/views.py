"""The API root: a signpost to every collection, so a client starts from one URL."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

API_NAMESPACE = "api"


def _collection_names(patterns) -> list[str]:
    """Names of the parameterless routes below ``/api/v1/``: the collections, not their items.

    Read from the URLconf, so an app that adds endpoints appears here without editing this file.
    """
    names = []
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            names += _collection_names(pattern.url_patterns)
        elif pattern.name and pattern.name != "root" and not pattern.pattern.converters:
            names.append(pattern.name)
    return names


class ApiRootApi(APIView):
    """Links to every collection of the API, its schema and its interactive docs."""

    @extend_schema(responses={200: serializers.DictField(child=serializers.URLField())})
    def get(self, request):
        from csoa_portal.api.urls import urlpatterns  # the URLconf imports this module

        links = {
            name.removesuffix("-list"): reverse(f"{API_NAMESPACE}:{name}", request=request)
            for name in _collection_names(urlpatterns)
        }
        links["schema"] = reverse("api-schema", request=request)
        links["docs"] = reverse("api-docs", request=request)
        return Response(links)
