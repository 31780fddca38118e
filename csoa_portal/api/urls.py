"""``/api/v1/``: the root, then each app's endpoints (string includes keep the one-way imports)."""

from django.urls import include, path

from csoa_portal.api import schema  # noqa: F401  (registers the auth schemes with drf-spectacular)
from csoa_portal.api.views import ApiRootApi

app_name = "api"

urlpatterns = [
    path("", ApiRootApi.as_view(), name="root"),
    path("", include("liaison.api.urls")),
    path("", include("incidents.api.urls")),
    path("", include("reserve.api.urls")),
    path("", include("awareness.api.urls")),
]
