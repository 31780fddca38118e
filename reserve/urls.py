from django.urls import path

from reserve import views

app_name = "reserve"

urlpatterns = [
    path("", views.home, name="home"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_new, name="request_new"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/submit/", views.request_submit, name="request_submit"),
    path("requests/<int:pk>/forward/", views.request_forward, name="request_forward"),
    path("requests/<int:pk>/return/", views.request_return, name="request_return"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("requests/<int:pk>/answer/", views.request_answer, name="request_answer"),
    path("requests/<int:pk>/assess/", views.request_assess, name="request_assess"),
    path("requests/<int:pk>/ask/", views.request_ask, name="request_ask"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("requests/<int:pk>/ranking/", views.request_ranking, name="request_ranking"),
    path("requests/<int:pk>/engage/", views.request_engage, name="request_engage"),
    path("requests/<int:pk>/close/", views.request_close, name="request_close"),
    path("requests/<int:pk>/report/", views.request_report, name="request_report"),
    path("triage/", views.triage, name="triage"),
    path("engagements/", views.engagement_list, name="engagement_list"),
    path("engagements/<int:pk>/", views.engagement_detail, name="engagement_detail"),
    path("engagements/<int:pk>/accept/", views.engagement_accept, name="engagement_accept"),
    path("engagements/<int:pk>/decline/", views.engagement_decline, name="engagement_decline"),
    path("engagements/<int:pk>/cancel/", views.engagement_cancel, name="engagement_cancel"),
    path("engagements/<int:pk>/agreement/", views.engagement_confirm_agreement, name="engagement_confirm_agreement"),
    path("engagements/<int:pk>/work/", views.engagement_log_work, name="engagement_log_work"),
    path("engagements/<int:pk>/updates/", views.engagement_post_update, name="engagement_post_update"),
    path("providers/", views.provider_list, name="provider_list"),
    path("providers/new/", views.provider_new, name="provider_new"),
    path("providers/<slug:code>/", views.provider_edit, name="provider_edit"),
    path("providers/<slug:code>/capacity/", views.provider_capacity, name="provider_capacity"),
    path("dashboard/", views.dashboard, name="reserve_dashboard"),
]
