from django.urls import path
from django.views.generic import TemplateView

app_name = "incidents"

# Placeholder: the incident pages replace this.
urlpatterns = [
    path("", TemplateView.as_view(template_name="base.html"), name="list"),
]
