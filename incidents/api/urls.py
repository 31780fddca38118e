"""Incident endpoints; included by csoa_portal.api.urls under /api/v1/."""

from django.urls import path

from incidents.api import views

urlpatterns = [
    path("incidents/", views.IncidentListCreateApi.as_view(), name="incident-list"),
    path("incidents/<int:pk>/", views.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<int:pk>/share/", views.IncidentShareApi.as_view(), name="incident-share"),
    path("incidents/<int:pk>/shares/<int:share_id>/", views.IncidentUnshareApi.as_view(), name="incident-unshare"),
    path("incidents/<int:pk>/inform-member-states/", views.IncidentInformApi.as_view(), name="incident-inform"),
    path("incidents/<int:pk>/network-consent/", views.IncidentNetworkConsentApi.as_view(), name="incident-network-consent"),
    path("incidents/<int:pk>/status/", views.IncidentStatusApi.as_view(), name="incident-status"),
    path("incidents/<int:pk>/reports/", views.IncidentReportsApi.as_view(), name="incident-reports"),
    path("incidents/<int:pk>/timeline/", views.IncidentTimelineApi.as_view(), name="incident-timeline"),
    path("incidents/<int:pk>/observables/", views.IncidentObservablesApi.as_view(), name="incident-observables"),
    path("incidents/<int:pk>/observables/<int:observable_id>/", views.IncidentObservableApi.as_view(),
         name="incident-observable"),
    path("incidents/<int:pk>/attachments/<int:attachment_id>/", views.IncidentAttachmentApi.as_view(),
         name="incident-attachment"),
    path("incidents/<int:pk>/initial-response/", views.IncidentInitialResponseApi.as_view(),
         name="incident-initial-response"),
    path("incidents/<int:pk>/tasks/", views.IncidentTasksApi.as_view(), name="incident-tasks"),
    path("tasks/<int:pk>/", views.TaskDetailApi.as_view(), name="task-detail"),
    path("tags/", views.TagVocabularyListApi.as_view(), name="tag-vocabulary-list"),
    path("incidents/<int:pk>/import/", views.IncidentImportApi.as_view(), name="incident-import"),
    path("incidents/<int:pk>/stix/", views.IncidentStixApi.as_view(), name="incident-stix"),
    path("incidents/<int:pk>/escalations/", views.IncidentEscalationsApi.as_view(), name="incident-escalations"),
    path("incidents/<int:pk>/declare/", views.IncidentDeclareApi.as_view(), name="incident-declare"),
    path("incidents/<int:pk>/deescalate/", views.IncidentDeescalateApi.as_view(), name="incident-deescalate"),
    path("incidents/<int:pk>/propose/", views.IncidentProposeApi.as_view(), name="incident-propose"),
    path("incidents/<int:pk>/ipcr-mode/", views.IncidentIpcrModeApi.as_view(), name="incident-ipcr-mode"),
    path("level-proposals/", views.LevelProposalListApi.as_view(), name="level-proposal-list"),
    path("level-proposals/<int:pk>/accept/", views.LevelProposalAcceptApi.as_view(), name="level-proposal-accept"),
    path("level-proposals/<int:pk>/decline/", views.LevelProposalDeclineApi.as_view(), name="level-proposal-decline"),
    path("alerts/", views.AlertListApi.as_view(), name="alert-list"),
    path("alerts/<int:pk>/acknowledge/", views.AlertAcknowledgeApi.as_view(), name="alert-acknowledge"),
    path("alerts/<int:pk>/not-affected/", views.AlertNotAffectedApi.as_view(), name="alert-not-affected"),
    path("blueprint/", views.BlueprintApi.as_view(), name="blueprint"),
    path("observables/search/", views.ObservableSearchApi.as_view(), name="observable-search"),
]
