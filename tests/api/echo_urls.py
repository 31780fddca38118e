"""A URLconf for error-shape tests: one endpoint that parses a JSON body.

The foundation's endpoints are all read-only, so none of them parses a body yet.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoApi(APIView):
    def post(self, request):
        return Response(request.data)


urlpatterns = [path("api/v1/echo/", EchoApi.as_view())]
