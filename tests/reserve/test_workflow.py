"""The request state machine: every transition by the right role, every illegal one refused, nothing changed."""

import pytest
from django.core.exceptions import PermissionDenied

from csoa_portal.models import AuditEntry
from liaison.models import Event
from reserve import services, workflow
from reserve.models import AssistanceRequest, Engagement
from reserve.workflow import ENGAGEMENT_TRANSITIONS, REQUEST_TRANSITIONS, EngagementStatus, RequestStatus, Role
from tests.reserve.factories import request_in

ALL_ROLES = set(Role)

# --- The table itself (no database) ------------------------------------------------------------

REQUEST_CASES = [(a, s) for a, t in REQUEST_TRANSITIONS.items() for s in RequestStatus.values]
ENGAGEMENT_CASES = [(a, s) for a, t in ENGAGEMENT_TRANSITIONS.items() for s in ["", *EngagementStatus.values]]


@pytest.mark.parametrize("action, status", REQUEST_CASES)
def test_request_table_allows_exactly_its_sources_and_roles(action, status):
    transition = REQUEST_TRANSITIONS[action]
    for role in ALL_ROLES - transition.roles:
        with pytest.raises(PermissionDenied, match="Only "):
            workflow.request_transition(action, status=status, roles={role})
    for role in transition.roles:
        if status in transition.sources:
            assert workflow.request_transition(action, status=status, roles={role}) is transition
        else:
            with pytest.raises(workflow.TransitionRefused, match="cannot") as excinfo:
                workflow.request_transition(action, status=status, roles={role})
            assert excinfo.value.message_dict["status"][0].startswith("This request is ")


@pytest.mark.parametrize("action, status", ENGAGEMENT_CASES)
def test_engagement_table_allows_exactly_its_sources_and_roles(action, status):
    transition = ENGAGEMENT_TRANSITIONS[action]
    for role in ALL_ROLES - transition.roles:
        with pytest.raises(PermissionDenied):
            workflow.engagement_transition(action, status=status, roles={role})
    for role in transition.roles:
        if status in transition.sources:
            assert workflow.engagement_transition(action, status=status, roles={role}) is transition
        else:
            with pytest.raises(workflow.TransitionRefused):
                workflow.engagement_transition(action, status=status, roles={role})


def test_every_state_is_reachable_and_final_states_have_no_way_out():
    reached = {RequestStatus.DRAFT} | {t for tr in REQUEST_TRANSITIONS.values() for t in tr.targets}
    assert reached == set(RequestStatus.values)
    for final in workflow.FINAL:
        assert not [a for a, t in REQUEST_TRANSITIONS.items() if final in t.sources]


def test_buttons_offered_are_those_the_table_allows():
    assert workflow.actions_for(REQUEST_TRANSITIONS, status="submitted", roles={Role.TRIAGE}) == [
        "request_info", "assess"]
    assert workflow.actions_for(REQUEST_TRANSITIONS, status="approved", roles={Role.PROVIDER}) == []  # deploy follows
    assert workflow.actions_for(REQUEST_TRANSITIONS, status="assessed", roles={Role.DECISION_MAKER}) == [
        "approve", "reject"]


def test_an_unknown_action_is_refused_naming_the_actions():
    with pytest.raises(workflow.TransitionRefused, match="Unknown action 'archive'.*submit"):
        workflow.request_transition("archive", status="draft", roles={Role.REQUESTER})


# --- Through the services, with real people -----------------------------------------------------

def _do(action, request, actor, r):
    """Perform a request transition through its service."""
    calls = {
        "submit": lambda: services.submit_request(actor=actor, request=request),
        "forward": lambda: services.forward_request(actor=actor, request=request),
        "return": lambda: services.return_request(actor=actor, request=request, reason="Incomplete"),
        "request_info": lambda: services.request_information(actor=actor, request=request, question="Which vendor?"),
        "answer_info": lambda: services.answer_information(actor=actor, request=request, answer="Siemens"),
        "assess": lambda: services.assess_request(actor=actor, request=request, complete=True,
                                                  recommendation="approve", reasons="Severe impact"),
        "approve": lambda: services.decide_request(actor=actor, request=request, outcome="approved", reasons="ok"),
        "reject": lambda: services.decide_request(actor=actor, request=request, outcome="rejected", reasons="no"),
        "deploy": lambda: services.accept_engagement(actor=actor, engagement=_offer(request, r)),
        "close": lambda: services.close_deployment(actor=actor, request=request),
        "report": lambda: services.submit_report(actor=actor, request=request, service_provided="IR", results="ok",
                                                 lessons_learned="Patch"),
        "withdraw": lambda: services.withdraw_request(actor=actor, request=request, reason="Not needed"),
    }
    return calls[action]()


def _offer(request, r):
    engagement = Engagement.objects.filter(request=request, status="offered").first()
    if engagement is None:  # a provider may only accept an offer: create it when the state allows one
        engagement = services.engage_provider(actor=r["people"]["enisa_triage"], request=request,
                                              provider=r["orgs"]["provider-acme"])
    return engagement


RIGHT = {Role.REQUESTER: "de_analyst", Role.SPOC: "de_spoc", Role.TRIAGE: "enisa_triage",
         Role.DECISION_MAKER: "enisa_decision", Role.PROVIDER: "provider"}
# For each role, people who may see the request but do not hold that role.
WRONG = {Role.REQUESTER: ["de_spoc", "enisa_triage"], Role.SPOC: ["de_analyst", "enisa_triage"],
         Role.TRIAGE: ["de_analyst", "enisa_decision", "ec_decision"],
         Role.DECISION_MAKER: ["enisa_triage", "ec_decision", "de_analyst"], Role.PROVIDER: ["beta"]}
LEGAL = [(action, source) for action, t in REQUEST_TRANSITIONS.items() for source in sorted(t.sources)]


def _state(request):
    fresh = AssistanceRequest.objects.get(pk=request.pk)
    return fresh.status, fresh.version, AuditEntry.objects.count(), Event.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("action, source", LEGAL)
def test_each_transition_by_its_role_moves_the_request_and_wrong_roles_change_nothing(reserve, action, source):
    transition = REQUEST_TRANSITIONS[action]
    request = request_in(source, reserve)
    if action == "deploy":
        _offer(request, reserve)
    for role in transition.roles:
        for name in WRONG[role]:
            if any(RIGHT.get(other) == name for other in transition.roles):
                continue
            before = _state(request)
            with pytest.raises(PermissionDenied):
                _do(action, request, reserve["people"][name], reserve)
            assert _state(request)[:3] == before[:3]
    role = sorted(transition.roles)[0]
    _do(action, request, reserve["people"][RIGHT[role]], reserve)
    request.refresh_from_db()
    assert request.status in transition.targets


ILLEGAL = [(action, state) for action, t in REQUEST_TRANSITIONS.items() for state in RequestStatus.values
           if state not in t.sources and action != "deploy"]


@pytest.mark.django_db
def test_every_transition_out_of_order_is_refused_with_a_clear_message_and_nothing_changes(reserve):
    """One request in every state, then every action the table forbids there (by the right role)."""
    requests = {state: request_in(state, reserve, affected_entity=f"Entity {state}") for state in RequestStatus.values}
    refused = []
    for action, state in ILLEGAL:
        request = requests[state]
        role = sorted(REQUEST_TRANSITIONS[action].roles)[0]
        before = _state(request)
        with pytest.raises(workflow.TransitionRefused) as excinfo:
            _do(action, request, reserve["people"][RIGHT[role]], reserve)
        assert _state(request) == before, (action, state)
        refused.append(excinfo.value.message_dict["status"][0])
    assert len(refused) == len(ILLEGAL)
    assert "This request is draft: it cannot approve now (only when assessed: awaiting decision)." in refused


@pytest.mark.django_db
def test_the_commission_decides_when_the_setting_makes_it_the_contracting_authority(reserve, settings):
    request = request_in(RequestStatus.ASSESSED, reserve)
    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"
    with pytest.raises(PermissionDenied, match="decision-makers of the contracting authority"):
        services.decide_request(actor=reserve["people"]["enisa_decision"], request=request, outcome="approved",
                                reasons="ok")
    decision = services.decide_request(actor=reserve["people"]["ec_decision"], request=request, outcome="approved",
                                       reasons="Meets Art. 15")
    assert decision.organisation.code == "ec"


@pytest.mark.django_db
def test_information_round_trip_puts_the_request_back_in_the_queue(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.SUBMITTED, reserve)
    asked = services.request_information(actor=p["enisa_triage"], request=request, question="Which PLC vendor?")
    assert Event.objects.filter(kind="request.info_requested").get().payload["recipient_groups"] == ["org:de-csirt"]
    answered = services.answer_information(actor=p["de_analyst"], request=request, answer="Siemens S7")
    assert answered.pk == asked.pk and answered.answer == "Siemens S7"
    request.refresh_from_db()
    assert request.status == "submitted"


@pytest.mark.django_db
def test_an_incomplete_request_cannot_be_recommended_for_approval(reserve):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    with pytest.raises(Exception) as excinfo:
        services.assess_request(actor=reserve["people"]["enisa_triage"], request=request, complete=False,
                                recommendation="approve", reasons="Looks fine", missing=["asset inventory"])
    assert "request more information" in str(excinfo.value)
    assessment = services.assess_request(actor=reserve["people"]["enisa_triage"], request=request, complete=False,
                                         recommendation="reject", reasons="Not a Reserve case",
                                         missing=["asset inventory"])
    assert assessment.priority_score == request.priority_score
    assert assessment.priority_explanation.startswith(f"Priority {assessment.priority_score}/100")


@pytest.mark.django_db
def test_the_decision_tells_the_requester_and_its_spoc_and_the_commission_sees_it(reserve, mailoutbox,
                                                                                    django_capture_on_commit_callbacks):
    request = request_in(RequestStatus.ASSESSED, reserve)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_request(actor=reserve["people"]["enisa_decision"], request=request, outcome="rejected",
                                reasons="Other support is available")
    event = Event.objects.get(kind="request.decided")
    assert event.payload["outcome"] == "rejected" and event.payload["within_clock"] is True
    assert {"org:ec", "org:de-csirt", "org:de-spoc"} <= set(event.audience.values_list("name", flat=True))
    assert set(event.payload["recipient_groups"]) == {"org:de-csirt", "org:de-spoc"}
    told = sorted(to for m in mailoutbox for to in m.to)
    assert "analyst@de-csirt.example" in told and "spoc@de-spoc.example" in told
    assert all("Other support" not in m.body and request.reference in m.subject for m in mailoutbox)
