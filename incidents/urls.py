from django.urls import path

from incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("search/", views.observable_search, name="search"),
    path("board/", views.board, name="board"),
    path("board/parts/", views.board_parts, name="board-parts"),
    path("board/alerts/<int:alert_id>/answer/", views.board_answer_alert, name="board-answer-alert"),
    path("board/<int:pk>/situation/", views.board_situation_update, name="board-situation"),
    path("blueprint/", views.blueprint_page, name="blueprint"),
    path("blueprint/draft/", views.blueprint_draft, name="blueprint-draft"),
    path("blueprint/<int:pk>/activate/", views.blueprint_activate, name="blueprint-activate"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/edit/", views.incident_edit, name="edit"),
    path("<int:pk>/status/", views.change_status, name="status"),
    path("<int:pk>/tlp/", views.change_tlp, name="tlp"),
    path("<int:pk>/reports/<slug:kind>/", views.submit_report, name="report"),
    path("<int:pk>/timeline/", views.add_timeline_entry, name="timeline"),
    path("<int:pk>/observables/upload/", views.upload_observables, name="observables-upload"),
    path("<int:pk>/share/", views.share, name="share"),
    path("<int:pk>/shares/<int:share_id>/revoke/", views.unshare, name="unshare"),
    path("<int:pk>/inform/", views.inform_member_states, name="inform"),
    path("<int:pk>/network-consent/", views.network_consent, name="network-consent"),
    path("<int:pk>/initial-response/", views.initial_response, name="initial-response"),
    path("<int:pk>/request-intermediate/", views.request_intermediate, name="request-intermediate"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:pk>/alerts/<int:alert_id>/answer/", views.answer_alert, name="answer-alert"),
    path("<int:pk>/declare/", views.declare_level, name="declare"),
    path("<int:pk>/deescalate/", views.deescalate, name="deescalate"),
    path("<int:pk>/propose/", views.propose_level, name="propose"),
    path("<int:pk>/ipcr-mode/", views.set_ipcr_mode, name="ipcr-mode"),
    path("proposals/<int:proposal_id>/<str:decision>/", views.decide_proposal, name="decide-proposal"),
    path("<int:pk>/stix/", views.stix_export, name="stix"),
]
