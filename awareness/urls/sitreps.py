"""Pages of the sitreps product."""

from django.urls import path

from awareness.views import sitreps as views

urlpatterns: list = [
    path("sitreps/", views.report_list, name="sitrep-list"),
    path("sitreps/new/", views.report_new, name="sitrep-new"),
    path("sitreps/<int:pk>/", views.report_detail, name="sitrep-detail"),
    path("sitreps/<int:pk>/edit/", views.report_edit, name="sitrep-edit"),
    path("sitreps/<int:pk>/submit/", views.report_submit, name="sitrep-submit"),
    path("sitreps/<int:pk>/return/", views.report_return, name="sitrep-return"),
    path("sitreps/<int:pk>/publish/", views.report_publish, name="sitrep-publish"),
    path("sitreps/<int:pk>/correct/", views.report_correct, name="sitrep-correct"),
    path("sitreps/<int:pk>/pdf/", views.report_pdf, name="sitrep-pdf"),
]
