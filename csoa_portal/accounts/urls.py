from django.urls import path
from django.views.generic import TemplateView

app_name = "accounts"

# Placeholder routes: replaced by the login / MFA views.
urlpatterns = [
    path("login/", TemplateView.as_view(template_name="base.html"), name="login"),
    path("logout/", TemplateView.as_view(template_name="base.html"), name="logout"),
    path("verify/", TemplateView.as_view(template_name="base.html"), name="verify"),
    path("enrol/", TemplateView.as_view(template_name="base.html"), name="enrol"),
]
