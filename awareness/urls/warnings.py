"""Pages of the warnings product, and its public copies (no login)."""

from django.urls import path

from awareness.views import warnings as views

urlpatterns: list = [
    path("warnings/", views.warning_list, name="warning_list"),
    path("warnings/new/", views.warning_new, name="warning_new"),
    path("warnings/feed.json", views.warnings_json_feed, name="warnings_json_feed"),
    path("warnings/feed.rss", views.warnings_rss_feed, name="warnings_rss_feed"),
    path("warnings/<int:pk>/", views.warning_detail, name="warning_detail"),
    path("warnings/<int:pk>/edit/", views.warning_edit, name="warning_edit"),
    path("warnings/<int:pk>/circulate/", views.warning_circulate, name="warning_circulate"),
    path("warnings/<int:pk>/respond/", views.warning_respond, name="warning_respond"),
    path("warnings/<int:pk>/schedule/", views.warning_schedule, name="warning_schedule"),
    path("warnings/<int:pk>/withdraw/", views.warning_withdraw, name="warning_withdraw"),
    path("warnings/<int:pk>/public.json", views.warning_public_json, name="warning_public_json"),
]
