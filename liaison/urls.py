from django.urls import path
from django.views.generic import TemplateView

app_name = "liaison"

urlpatterns = [
    path("", TemplateView.as_view(template_name="base.html"), name="dashboard"),
    path("network/", TemplateView.as_view(template_name="base.html"), name="directory"),
    path("tokens/", TemplateView.as_view(template_name="base.html"), name="tokens"),
]
