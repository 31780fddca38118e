from django.urls import path

from scenarios import views

app_name = "scenarios"

# Mounted under exercises/<int:exercise_id>/ (csoa_portal/urls.py).
urlpatterns = [
    path("scenario/", views.scenario, name="scenario"),
    path("scenario/new/", views.inject_create, name="inject_create"),
    path("scenario/<int:inject_id>/edit/", views.inject_edit, name="inject_edit"),
    path("scenario/<int:inject_id>/delete/", views.inject_delete, name="inject_delete"),
    path("scenario/<int:inject_id>/release/", views.inject_release, name="inject_release"),
    path("evaluation/", views.evaluation, name="evaluation"),
    path("evaluation/report.pdf", views.evaluation_pdf, name="evaluation_pdf"),
    path("evaluation/lessons/", views.evaluation_lesson, name="evaluation_lesson"),
    path("evaluation/<slug:code>/", views.participant_evaluation, name="evaluation_participant"),
    path("evaluation/<slug:code>/report.pdf", views.participant_evaluation_pdf, name="evaluation_participant_pdf"),
]
