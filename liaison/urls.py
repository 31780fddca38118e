from django.urls import path

from liaison import views

app_name = "liaison"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("inbox/read/", views.inbox_read, name="inbox_read"),
    path("network/", views.directory, name="directory"),
    path("network/member-states/new/", views.member_state_create, name="member_state_create"),
    path("network/member-states/<str:code>/", views.member_state_detail, name="member_state"),
    path("network/member-states/<str:code>/edit/", views.member_state_edit, name="member_state_edit"),
    path("network/organisations/new/", views.organisation_create, name="organisation_create"),
    path("network/organisations/<str:code>/", views.organisation_detail, name="organisation"),
    path("network/organisations/<str:code>/edit/", views.organisation_edit, name="organisation_edit"),
    path("network/organisations/<str:code>/people/new/", views.person_add, name="person_add"),
    path("network/organisations/<str:code>/people/<int:user_id>/", views.person_edit, name="person_edit"),
    path("network/organisations/<str:code>/people/<int:user_id>/roles/", views.role_add, name="role_add"),
    path(
        "network/organisations/<str:code>/roles/<int:membership_id>/remove/",
        views.role_remove,
        name="role_remove",
    ),
    path("exercises/", views.exercises, name="exercises"),
    path("exercises/switch/", views.exercise_switch, name="exercise_switch"),
    path("exercises/new/", views.exercise_create, name="exercise_create"),
    path("exercises/<int:pk>/edit/", views.exercise_edit, name="exercise_edit"),
    path("exercises/<int:pk>/archive/", views.exercise_archive, name="exercise_archive"),
    path("exercises/<int:pk>/delete/", views.exercise_delete, name="exercise_delete"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
