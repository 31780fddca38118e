from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from csoa_portal import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("csoa_portal.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("csoa_portal.api.urls")),
    path("audit/", include("csoa_portal.audit_urls")),
    path("incidents/", include("incidents.urls")),
    path("reserve/", include("reserve.urls")),
    path("awareness/", include("awareness.urls")),
    path("exercises/<int:exercise_id>/", include("scenarios.urls")),  # scenario/ and evaluation/
    path("", include("liaison.urls")),
]

handler400 = "csoa_portal.views.bad_request"
handler403 = "csoa_portal.views.permission_denied"
handler404 = "csoa_portal.views.page_not_found"
handler500 = "csoa_portal.views.server_error"
