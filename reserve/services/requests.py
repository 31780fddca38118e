"""Drafting, submitting and routing a request for Reserve support (CSoA Art. 14(3), 15)."""

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal import audit
from csoa_portal.input_rules import is_digits
from incidents import policy as incident_policy
from incidents.models import Incident, Sector
from incidents.selectors import incidents_visible_to
from incidents.services.common import dispatch_evaluation
from liaison.events import Audience, record_event
from liaison.models import Organisation, User
from liaison.roles import Community, role_group_name
from liaison.roles import Role as NetworkRole
from reserve import workflow
from reserve.models import AssistanceRequest
from reserve.policy import roles_for
from reserve.selectors import priority_of, request_refusal, routing_for
from reserve.services.common import (
    acting_membership,
    authority_groups,
    grant,
    lock,
    notify,
    request_event,
    snapshot,
    touch,
)
from reserve.services.deadlines import meet_clock, start_response_clock
from reserve.vocabulary import Clock, normalise_languages, normalise_services
from reserve.workflow import RequestStatus
from liaison.exercises import current_exercise_id

# What the requester writes (CSoA Art. 15(4)); everything else moves only through the workflow.
CONTENT_FIELDS = (
    "affected_entity", "entity_type", "sector", "incidents", "impact_description", "impact_level", "planned_use",
    "services", "person_days", "window_start", "window_end", "mitigation_measures", "measures_level",
    "measures_confirmed", "other_support", "urgency", "languages", "spill_over_risk", "security_clearance",
)
REQUIRED = {
    "affected_entity": "Name the affected entity (Art. 15(4)(a)).",
    "entity_type": "Say what type of entity it is (NIS2 essential, important, public administration, EUIBA, other).",
    "sector": "Choose the affected entity's NIS2 sector.",
    "incidents": "Link the incident(s) the request concerns.",
    "impact_description": "Describe the potential impact (Art. 15(4)(a)).",
    "impact_level": "Rate the potential impact: limited, significant, severe or critical.",
    "planned_use": "Say how the support will be used (Art. 15(4)(a)).",
    "services": "Choose at least one service needed.",
    "person_days": "Estimate the effort needed in person-days.",
    "window_start": "Say from when the support is needed.",
    "window_end": "Say until when the support is needed.",
    "mitigation_measures": "Describe the mitigation measures already taken (Art. 15(4)(b)).",
    "measures_level": "Say how far the measures taken go: partial, substantial or comprehensive.",
    "measures_confirmed": "Confirm that all appropriate mitigation measures have been taken (CSoA Art. 15(2)).",
    "other_support": "Say what other support is available — incident-response contracts, insurance (Art. 15(4)(c)); "
                     "write \"none\" if there is none.",
    "urgency": "Say how urgent it is: routine, urgent or immediate.",
    "languages": "Give at least one working language (ISO 639-1, e.g. de, en).",
    "spill_over_risk": "Rate the risk of spill-over: low, medium or high.",
}


# --- Content ---------------------------------------------------------------------------------------

def _date(value, field: str, errors: dict):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = f"{value!r} is not a date (YYYY-MM-DD)."
        return None


def visible_incidents(actor: User, values) -> list[Incident]:
    """The incidents to link: each one the requester may see *and* whose originator they act for.

    Linking exposes an incident to new organisations (the contracting authority reads its
    facts; a submitted request may escalate it), and a recipient's action never widens an
    incident's audience (TLP: recipients do not pass it on). The error names each refused one.
    """
    wanted, errors = [], []
    for value in values or ():
        pk = value.pk if isinstance(value, Incident) else value
        try:
            wanted.append(int(pk))
        except (TypeError, ValueError):
            errors.append(f"{pk!r} is not an incident id.")
    found = {i.pk: i for i in incidents_visible_to(actor).filter(pk__in=wanted).select_related("reporting_organisation")}
    errors += [f"Incident {pk} does not exist or is not visible to you: link only incidents you may see."
               for pk in dict.fromkeys(wanted) if pk not in found]
    linkable = set(incident_policy.linkable_incidents(actor).filter(pk__in=list(found)).values_list("pk", flat=True))
    errors += [f"Incident {found[pk].reference} was reported by {found[pk].reporting_organisation.name}: only its "
               "originating organisation may link it to a Reserve request (ask them to request support or link it)."
               for pk in dict.fromkeys(wanted) if pk in found and pk not in linkable]
    if errors:
        raise ValidationError({"incidents": errors})
    return [found[pk] for pk in dict.fromkeys(wanted)]


def _apply(request: AssistanceRequest, content: dict, actor: User) -> list[Incident] | None:
    """Set the given content fields; validate what is given (drafts may stay incomplete). Returns linked incidents."""
    errors: dict = {}
    unknown = sorted(set(content) - set(CONTENT_FIELDS))
    errors.update({name: "This field cannot be set on a request." for name in unknown})
    linked = None
    for name, value in content.items():
        if name in unknown:
            continue
        try:
            if name == "incidents":
                linked = visible_incidents(actor, value)
            elif name == "services":
                request.services = normalise_services(value)
            elif name == "languages":
                request.languages = normalise_languages(value)
            elif name == "sector":
                request.sector = _sector(value)
            elif name in ("window_start", "window_end"):
                setattr(request, name, _date(value, name, errors))
            elif name == "person_days":
                if value in (None, ""):
                    request.person_days = None
                elif isinstance(value, bool) or not is_digits(str(value)) or int(value) < 1:
                    errors[name] = "Give the effort as a whole number of person-days (at least 1)."
                else:
                    request.person_days = int(value)
            elif name == "measures_confirmed":
                if not isinstance(value, bool):
                    errors[name] = "Confirm with true or false."
                else:
                    request.measures_confirmed = value
            else:
                setattr(request, name, ("" if value is None else str(value).strip()))
        except ValidationError as exc:
            errors.update(exc.message_dict)
        except ValueError as exc:
            errors[name] = str(exc)
    if request.window_start and request.window_end and request.window_end < request.window_start:
        errors.setdefault("window_end", "The support window ends before it starts.")
    try:
        request.full_clean(exclude=["requester_organisation", "created_by", "spoc_organisation", *errors])
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
    if errors:
        raise ValidationError(errors)
    return linked


def _sector(value) -> Sector | None:
    if value in (None, ""):
        return None
    if isinstance(value, Sector):
        return value
    sector = Sector.objects.filter(code=str(value)).first()
    if sector is None:
        raise ValidationError({"sector": f"Unknown sector {value!r}; use a NIS2 sector code such as energy.electricity."})
    return sector


def missing_content(request: AssistanceRequest) -> dict[str, str]:
    """What a request still lacks before it may be submitted, field by field."""
    missing = {}
    for name, message in REQUIRED.items():
        if name == "incidents":
            empty = request.pk is None or not request.incidents.exists()
        elif name == "measures_confirmed":
            empty = request.measures_confirmed is not True
        else:
            value = getattr(request, name)
            empty = value in (None, "", [])
        if empty:
            missing[name] = message
    if request.window_end and request.window_end < timezone.localdate():
        missing["window_end"] = "The support window has already ended."
    return missing


def _content_event(kind: str, request: AssistanceRequest, *, actor, changed=()) -> None:
    request_event(kind, request, actor=actor, payload={"changed": sorted(changed)} if changed else None)


@transaction.atomic
def create_request(*, actor: User, organisation: Organisation, **content) -> AssistanceRequest:
    """Start a draft; it may be saved incomplete and completed later."""
    acting_membership(actor, organisation)
    refusal = request_refusal(organisation)
    if refusal:
        raise ValidationError({"organisation": refusal})
    now = timezone.now()
    request = AssistanceRequest(requester_organisation=organisation, created_by=actor, created_at=now, updated_at=now,
                                exercise_id=current_exercise_id())
    linked = _apply(request, content, actor)
    request.save()
    if linked is not None:
        request.incidents.set(linked)
    grant(request, [organisation.group])
    audit.record(actor=actor, action="request.drafted", obj=request, organisation_code=organisation.code,
                 after=snapshot(request))
    _content_event("request.drafted", request, actor=actor)
    return request


class StaleVersion(Exception):
    """The caller edited an older version than the current one (HTTP 412)."""

    def __init__(self, current: int):
        super().__init__(f"The request changed since you loaded it (now version {current}); reload and retry.")
        self.current = current


def _lock_as(actor: User, request: AssistanceRequest, expected_version: int | None) -> AssistanceRequest:
    request = lock(request)
    if expected_version is not None and expected_version != request.version:
        raise StaleVersion(request.version)
    return request


@transaction.atomic
def update_request(*, actor: User, request: AssistanceRequest, expected_version: int | None = None,
                   **changes) -> AssistanceRequest:
    """Complete or correct a draft. A submitted request is immutable except through its workflow."""
    request = _lock_as(actor, request, expected_version)
    if workflow.Role.REQUESTER not in roles_for(actor, request):
        raise PermissionDenied("Only the requesting organisation may edit its request.")
    if request.status != RequestStatus.DRAFT:
        raise workflow.TransitionRefused(
            f"This request is {request.get_status_display().lower()}: a submitted request cannot be edited, "
            "only moved on through its workflow.")
    before = snapshot(request)
    linked = _apply(request, changes, actor)
    touch(request, *[name for name in changes if name != "incidents"])
    if linked is not None:
        request.incidents.set(linked)
    after = snapshot(request)
    changed = [k for k in after if after[k] != before.get(k)]
    audit.record(actor=actor, action="request.updated", obj=request, before=before, after=after)
    _content_event("request.updated", request, actor=actor, changed=changed)
    return request


# --- Submission and routing ------------------------------------------------------------------------

def _incidents_changed(request: AssistanceRequest) -> None:
    """The Blueprint facts reserve_requested/approved changed: have the engine look at the linked incidents.

    The version bump makes the sweep re-evaluate them even if the fast-path dispatch is lost.
    """
    ids = list(request.incidents.values_list("pk", flat=True))
    Incident.objects.filter(pk__in=ids).update(version=F("version") + 1, updated_at=timezone.now())
    for incident_id in ids:
        dispatch_evaluation(incident_id)


@transaction.atomic
def submit_request(*, actor: User, request: AssistanceRequest, expected_version: int | None = None) -> AssistanceRequest:
    """Submit a complete request: to the requester's SPOC, or straight to the contracting authority."""
    request = _lock_as(actor, request, expected_version)
    workflow.request_transition("submit", status=request.status, roles=roles_for(actor, request))
    organisation = request.requester_organisation
    refusal = request_refusal(organisation)
    if refusal:
        raise ValidationError({"organisation": refusal})
    errors = missing_content(request)
    if "incidents" not in errors:
        try:  # the links must still be visible to the requester (a share may have been revoked)
            visible_incidents(actor, list(request.incidents.values_list("pk", flat=True)))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    routing = routing_for(organisation)
    if routing.refusal:
        raise ValidationError({"organisation": routing.refusal})
    before = snapshot(request)
    request.requester_submitted_at = timezone.now()
    if routing.spoc is not None:
        request.status, request.spoc_organisation = RequestStatus.AWAITING_SPOC, routing.spoc
        touch(request, "status", "spoc_organisation", "requester_submitted_at")
        grant(request, [routing.spoc.group])
        audit.record(actor=actor, action="request.routed", obj=request, before=before, after=snapshot(request))
        request_event("request.routed", request, actor=actor, payload={"spoc": routing.spoc.code},
                      recipients=[routing.spoc.group.name])
        notify(request.pk, [routing.spoc.group.name], "request.routed")
    else:
        touch(request, "requester_submitted_at")
        _reach_authority(request, actor=actor, before=before)
    _incidents_changed(request)
    return request


def _reach_authority(request: AssistanceRequest, *, actor: User, before: dict, note: str = "") -> None:
    """The request reaches the contracting authority: the response clock starts and the networks are told."""
    request.status, request.submitted_at = RequestStatus.SUBMITTED, timezone.now()
    request.priority_score = priority_of(request).score
    touch(request, "status", "submitted_at", "priority_score")
    grant(request, authority_groups())
    start_response_clock(request)
    audit.record(actor=actor, action="request.submitted", obj=request, before=before,
                 after={**snapshot(request), **({"spoc_note": note} if note else {})})
    triage = role_group_name(NetworkRole.ENISA_TRIAGE)
    request_event("request.submitted", request, actor=actor, recipients=[triage], payload={
        "urgency": request.urgency, "priority_score": request.priority_score,
        "response_due_at": request.deadlines.get(clock=Clock.RESPONSE, engagement__isnull=True).due_at.isoformat(),
    })
    # DOMAIN.md: member states inform the CSIRTs Network and EU-CyCLONe of their requests. Their
    # members do not see the request itself: the notice carries the reference, who asks and how urgently.
    ms = request.requester_organisation.member_state
    record_event(kind="request.submitted", subject_type="reserve_notice", subject_id=str(request.pk), actor=actor,
                 payload={"reference": request.reference, "requester": request.requester_organisation.code,
                          "member_state": ms.code if ms else "EU", "urgency": request.urgency},
                 audience=Audience(groups=[Community.CSIRTS_NETWORK, Community.EU_CYCLONE]))
    notify(request.pk, [triage], "request.submitted")


@transaction.atomic
def forward_request(*, actor: User, request: AssistanceRequest, note: str = "") -> AssistanceRequest:
    """The SPOC forwards (endorses) the request to the contracting authority (Art. 15(3))."""
    request = lock(request)
    workflow.request_transition("forward", status=request.status, roles=roles_for(actor, request))
    before = snapshot(request)
    _reach_authority(request, actor=actor, before=before, note=(note or "").strip())
    return request


@transaction.atomic
def return_request(*, actor: User, request: AssistanceRequest, reason: str) -> AssistanceRequest:
    """The SPOC sends the request back to the requester as a draft, saying why."""
    request = lock(request)
    workflow.request_transition("return", status=request.status, roles=roles_for(actor, request))
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the request goes back to the requester."})
    before = snapshot(request)
    request.status = RequestStatus.DRAFT
    touch(request, "status")
    audit.record(actor=actor, action="request.returned", obj=request, before=before,
                 after={**snapshot(request), "reason": reason.strip()})
    requester = request.requester_organisation.group.name
    request_event("request.returned", request, actor=actor, recipients=[requester])
    notify(request.pk, [requester], "request.returned")
    return request


@transaction.atomic
def withdraw_request(*, actor: User, request: AssistanceRequest, reason: str) -> AssistanceRequest:
    """The requester no longer needs the support; pending engagements are cancelled."""
    from reserve.services.engagements import cancel_open_engagements

    request = lock(request)
    workflow.request_transition("withdraw", status=request.status, roles=roles_for(actor, request))
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the request is withdrawn."})
    before = snapshot(request)
    request.status = RequestStatus.WITHDRAWN
    touch(request, "status")
    meet_clock(request, Clock.RESPONSE)
    cancel_open_engagements(request, actor=actor, reason="The request was withdrawn.")
    audit.record(actor=actor, action="request.withdrawn", obj=request, before=before,
                 after={**snapshot(request), "reason": reason.strip()})
    request_event("request.withdrawn", request, actor=actor)
    return request
