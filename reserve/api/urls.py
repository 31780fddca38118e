"""Reserve endpoints; included by csoa_portal.api.urls under /api/v1/."""

from django.urls import path

from reserve.api import views

urlpatterns = [
    path("assistance-requests/", views.AssistanceRequestListCreateApi.as_view(), name="assistance-request-list"),
    path("assistance-requests/<int:pk>/", views.AssistanceRequestDetailApi.as_view(), name="assistance-request-detail"),
    path("assistance-requests/<int:pk>/submit/", views.RequestSubmitApi.as_view(), name="assistance-request-submit"),
    path("assistance-requests/<int:pk>/forward/", views.RequestForwardApi.as_view(), name="assistance-request-forward"),
    path("assistance-requests/<int:pk>/return/", views.RequestReturnApi.as_view(), name="assistance-request-return"),
    path("assistance-requests/<int:pk>/withdraw/", views.RequestWithdrawApi.as_view(),
         name="assistance-request-withdraw"),
    path("assistance-requests/<int:pk>/request-info/", views.RequestInformationApi.as_view(),
         name="assistance-request-request-info"),
    path("assistance-requests/<int:pk>/answer-info/", views.RequestAnswerApi.as_view(),
         name="assistance-request-answer-info"),
    path("assistance-requests/<int:pk>/assess/", views.RequestAssessApi.as_view(), name="assistance-request-assess"),
    path("assistance-requests/<int:pk>/decide/", views.RequestDecideApi.as_view(), name="assistance-request-decide"),
    path("assistance-requests/<int:pk>/ranking/", views.RequestRankingApi.as_view(), name="assistance-request-ranking"),
    path("assistance-requests/<int:pk>/engagements/", views.RequestEngagementsApi.as_view(),
         name="assistance-request-engagements"),
    path("assistance-requests/<int:pk>/close/", views.RequestCloseApi.as_view(), name="assistance-request-close"),
    path("assistance-requests/<int:pk>/report/", views.RequestReportApi.as_view(), name="assistance-request-report"),
    path("reserve-triage-queue/", views.TriageQueueApi.as_view(), name="reserve-triage-queue"),
    path("engagements/", views.EngagementListApi.as_view(), name="engagement-list"),
    path("engagements/<int:pk>/", views.EngagementDetailApi.as_view(), name="engagement-detail"),
    path("engagements/<int:pk>/accept/", views.EngagementAcceptApi.as_view(), name="engagement-accept"),
    path("engagements/<int:pk>/decline/", views.EngagementDeclineApi.as_view(), name="engagement-decline"),
    path("engagements/<int:pk>/cancel/", views.EngagementCancelApi.as_view(), name="engagement-cancel"),
    path("engagements/<int:pk>/agreement/", views.EngagementAgreementApi.as_view(), name="engagement-agreement"),
    path("engagements/<int:pk>/work/", views.EngagementWorkApi.as_view(), name="engagement-work"),
    path("engagements/<int:pk>/updates/", views.EngagementUpdatesApi.as_view(), name="engagement-updates"),
    path("reserve-providers/", views.ProviderListCreateApi.as_view(), name="reserve-provider-list"),
    path("reserve-providers/<str:code>/", views.ProviderDetailApi.as_view(), name="reserve-provider-detail"),
    path("reserve-providers/<str:code>/capacity/", views.ProviderCapacityApi.as_view(),
         name="reserve-provider-capacity"),
]
