"""Every write to incidents: one function per user intent, each audited with its Event.

Split by subject; import from here (``from incidents import services``).
"""

from incidents.services.alerts import answer_alert, mark_seen, sweep_alerts
from incidents.services.blueprints import (
    activate_blueprint,
    delete_blueprint_drafts,
    draft_blueprint,
    save_blueprint,
    save_blueprint_parts,
)
from incidents.services.common import CLOCK_SKEW, StaleVersion
from incidents.services.escalations import (
    accept_proposal,
    declare_level,
    decline_proposal,
    deescalate,
    evaluate_incident,
    evaluate_pending,
    propose_level,
    set_ipcr_mode,
)
from incidents.services.imports import ImportReport, import_file, import_observables
from incidents.services.observables import add_observable, delete_observable, update_observable
from incidents.services.reporting import (
    HANDLED_STATUSES,
    OPTIONAL_SECTIONS,
    REPORT_SECTIONS,
    STATUS_TRANSITIONS,
    UPDATABLE_FIELDS,
    change_status,
    record_initial_response,
    report_incident,
    request_intermediate_report,
    submit_report,
    sync_deadlines,
    update_incident,
)
from incidents.services.sharing import (
    change_tlp,
    consent_to_network_sharing,
    cross_border_recipients,
    inform_other_member_states,
    share_incident,
    unshare_incident,
)
from incidents.services.tags import resolve_tags, tag_incident
from incidents.services.tasks import create_task, delete_task, update_task
from incidents.services.timeline import (
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    MAX_OBSERVABLES_PER_CALL,
    ObservableBatchResult,
    add_observables,
    add_timeline_entry,
    sniff_content_type,
)

__all__ = [
    "CLOCK_SKEW", "HANDLED_STATUSES", "MAX_ATTACHMENTS", "MAX_ATTACHMENT_BYTES", "MAX_OBSERVABLES_PER_CALL", "OPTIONAL_SECTIONS",
    "REPORT_SECTIONS", "STATUS_TRANSITIONS", "UPDATABLE_FIELDS", "ObservableBatchResult", "StaleVersion",
    "answer_alert", "mark_seen", "sweep_alerts", "activate_blueprint", "delete_blueprint_drafts", "draft_blueprint", "save_blueprint", "save_blueprint_parts", "add_observables", "declare_level", "deescalate", "accept_proposal", "decline_proposal", "propose_level", "set_ipcr_mode", "evaluate_incident", "evaluate_pending", "add_timeline_entry", "change_status", "change_tlp", "consent_to_network_sharing", "cross_border_recipients",
    "inform_other_member_states", "record_initial_response", "report_incident", "request_intermediate_report",
    "share_incident", "sniff_content_type", "submit_report", "sync_deadlines", "unshare_incident", "update_incident",
    "add_observable", "update_observable", "delete_observable", "resolve_tags", "tag_incident",
    "create_task", "update_task", "delete_task", "ImportReport", "import_file", "import_observables",
]
