"""Pages of the lessons product."""

from django.urls import path

from awareness.views import lessons as views

urlpatterns: list = [
    path("lessons/", views.lesson_list, name="lesson_list"),
    path("lessons/new/", views.lesson_new, name="lesson_new"),
    path("lessons/<int:pk>/", views.lesson_detail, name="lesson_detail"),
    path("lessons/<int:pk>/decide/", views.lesson_decide, name="lesson_decide"),
    path("lessons/blueprint-draft/", views.lesson_build_draft, name="lesson_build_draft"),
    path("lessons/blueprint-versions/", views.blueprint_versions, name="blueprint_versions"),
]
