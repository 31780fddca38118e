from django.urls import path

from scenarios import views

app_name = "scenarios"

# Mounted under exercises/<int:exercise_id>/scenario/ (csoa_portal/urls.py).
urlpatterns = [
    path("", views.scenario, name="scenario"),
    path("new/", views.inject_create, name="inject_create"),
    path("<int:inject_id>/edit/", views.inject_edit, name="inject_edit"),
    path("<int:inject_id>/delete/", views.inject_delete, name="inject_delete"),
    path("<int:inject_id>/release/", views.inject_release, name="inject_release"),
]
