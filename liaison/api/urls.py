"""Network and event-feed endpoints; included by csoa_portal.api.urls under /api/v1/."""

from django.urls import path

from liaison.api import views

urlpatterns = [
    path("member-states/", views.MemberStateListApi.as_view(), name="member-state-list"),
    path("member-states/<str:code>/", views.MemberStateDetailApi.as_view(), name="member-state-detail"),
    path("organisations/", views.OrganisationListApi.as_view(), name="organisation-list"),
    path("organisations/<str:code>/", views.OrganisationDetailApi.as_view(), name="organisation-detail"),
    path("events/", views.EventFeedApi.as_view(), name="event-list"),
    path("exercises/", views.ExerciseListApi.as_view(), name="exercise-list"),
]
