"""Generated agreement: for every kind of person, every incident capability and the states that
matter, the page shows the button if and only if the action succeeds, the API agrees with the
page, both agree with ``incidents.policy``, and an incident the person may not see is a 404 on
both.

A capability is covered by registering it in ``CAPABILITIES`` (how to call the page action, the
API action where one exists, the marker of its button or form on a page, the policy predicate);
no test below names a capability. Every action is tried inside a savepoint that is rolled back,
so one world serves all persons and capabilities of a state.
"""

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import pytest
from django.db import transaction
from django.utils import timezone

from incidents import policy, selectors, services
from incidents.models import Alert, Incident
from tests.conftest import verified_client
from tests.factories import member_state, organisation, person, presidency

pytestmark = pytest.mark.exhaustive

# --- The capabilities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    name: str
    allowed: Callable  # (user, world) -> bool: the policy's answer
    marker: Callable  # (world, user) -> str: HTML of the button/form, present iff shown
    page: Callable  # (client, world, user) -> response of the page action
    api: Callable | None = None  # (client, world, user) -> response of the API action
    where: str = "detail"  # the page showing the marker: the incident page or the crisis board
    applies: Callable = lambda world: True  # states where the action exists at all
    visible: Callable = lambda user, world: policy.may_see_incident(user, world["incident"].pk)  # else 404 on both
    for_every_viewer: bool = False  # granted to whoever sees the object (no "no" expected among viewers)


def _url(world, tail=""):
    return f"/incidents/{world['incident'].pk}/{tail}"


def _api(world, tail=""):
    return f"/api/v1/incidents/{world['incident'].pk}/{tail}"


def _json(client, method, url, data=None):
    return getattr(client, method)(url, data or {}, content_type="application/json")


def _declare_target(world, user) -> int:
    """The level the person would declare: the first the policy offers, else the next one."""
    offered = policy.declarable_levels(user, world["incident"])
    return offered[0].number if offered else world["incident"].crisis_level + 1


def _alert_for(world, user) -> Alert | None:
    """The alert addressed to the person's organisation, else any alert of the incident."""
    alerts = world["incident"].alerts.order_by("id")
    own = alerts.filter(organisation__memberships__user=user).first()
    return own or alerts.first()


def _csv():
    upload = io.BytesIO(b"type,value\nipv4,198.51.100.23\n")
    upload.name = "iocs.csv"
    return upload


def _deciding_a_proposal(decision: str, *, attribute: str, reason: str) -> "Capability":
    """Accepting or declining the open level proposal (the level-2 world's), on the board and over the API."""
    page_url = lambda w: f"/incidents/proposals/{w['proposal'].pk}/{decision}/"  # noqa: E731
    return Capability(
        f"{decision} a proposed level", lambda u, w: policy.may_decide_proposal(u, w["proposal"]),
        marker=lambda w, u: f'{attribute}="{page_url(w)}"',
        page=lambda c, w, u: c.post(page_url(w), {"reason": reason}),
        api=lambda c, w, u: _json(c, "post", f"/api/v1/level-proposals/{w['proposal'].pk}/{decision}/", {"reason": reason}),
        where="board", applies=lambda w: w["proposal"] is not None,
        visible=lambda u, w: bool(policy.visible_proposal_ids(u, [w["proposal"].pk])),
    )


CAPABILITIES = [
    Capability(
        "edit", lambda u, w: policy.can_edit(u, w["incident"]),
        marker=lambda w, u: f'href="{_url(w, "edit/")}"',
        page=lambda c, w, u: c.get(_url(w, "edit/")),
        api=lambda c, w, u: _json(c, "patch", _api(w), {"title": "Renamed"}),
    ),
    Capability(
        "change status", lambda u, w: policy.may_change_status(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "status/")}"',
        page=lambda c, w, u: c.post(_url(w, "status/"), {"status": "contained"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "status/"), {"status": "contained"}),
    ),
    Capability(
        "change TLP", lambda u, w: policy.may_change_tlp(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "tlp/")}"',
        page=lambda c, w, u: c.post(_url(w, "tlp/"), {"tlpchange-tlp": w["incident"].tlp}),
        api=lambda c, w, u: _json(c, "patch", _api(w), {"tlp": w["incident"].tlp}),
    ),
    Capability(
        "tag the incident", lambda u, w: policy.may_tag(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "tags/")}"',
        page=lambda c, w, u: c.post(_url(w, "tags/"), {"tags-add": 'rsit:malicious-code="infected-system", wiper'}),
        api=lambda c, w, u: _json(c, "patch", _api(w), {"tags": ['rsit:malicious-code="infected-system"', "wiper"]}),
    ),
    Capability(
        "share", lambda u, w: policy.may_share(u, w["incident"]),
        marker=lambda w, u: f'href="{_url(w, "share/")}"',
        page=lambda c, w, u: c.post(_url(w, "share/"), {"people": "analyst@pt-csirt.example"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "share/"), {"people": ["analyst@pt-csirt.example"]}),
    ),
    Capability(
        "unshare", lambda u, w: policy.may_unshare(u, w["share"]),
        marker=lambda w, u: 'action="' + _url(w, f"shares/{w['share'].pk}/revoke/") + '"',
        page=lambda c, w, u: c.post(_url(w, f"shares/{w['share'].pk}/revoke/")),
        api=lambda c, w, u: c.delete(_api(w, f"shares/{w['share'].pk}/")),
        applies=lambda w: w["share"] is not None,
    ),
    Capability(
        "declare a level", lambda u, w: bool(policy.declarable_levels(u, w["incident"])),
        marker=lambda w, u: f'action="{_url(w, "declare/")}"',
        page=lambda c, w, u: c.post(_url(w, "declare/"), {"level": _declare_target(w, u), "reason": "Spreading"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "declare/"), {"level": _declare_target(w, u), "reason": "Spreading"}),
        applies=lambda w: w["incident"].crisis_level < 3,
    ),
    Capability(
        "de-escalate", lambda u, w: bool(policy.deescalatable_levels(u, w["incident"])),
        marker=lambda w, u: f'action="{_url(w, "deescalate/")}"',
        page=lambda c, w, u: c.post(_url(w, "deescalate/"), {"level": 0, "reason": "Contained nationally"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "deescalate/"), {"level": 0, "reason": "Contained nationally"}),
        applies=lambda w: w["incident"].crisis_level > 0,
    ),
    Capability(
        "propose a level", lambda u, w: bool(policy.proposable_levels(u, w["incident"])),
        marker=lambda w, u: f'action="{_url(w, "propose/")}"',
        page=lambda c, w, u: c.post(_url(w, "propose/"), {"level": 3, "reason": "Grids in many states"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "propose/"), {"level": 3, "reason": "Grids in many states"}),
        applies=lambda w: w["incident"].crisis_level < 3,
    ),
    Capability(
        "set the IPCR mode", lambda u, w: bool(policy.settable_ipcr_modes(u, w["incident"])),
        marker=lambda w, u: f'action="{_url(w, "ipcr-mode/")}"',
        page=lambda c, w, u: c.post(_url(w, "ipcr-mode/"), {"ipcr_mode": "full_activation"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "ipcr-mode/"), {"ipcr_mode": "full_activation"}),
        applies=lambda w: w["incident"].crisis_level == 3,
    ),
    _deciding_a_proposal("accept", attribute="action", reason="Agreed"),
    # Declining is the accept form's second button: its marker is the button's formaction.
    _deciding_a_proposal("decline", attribute="formaction", reason="Not yet"),
    Capability(
        "post an update", lambda u, w: policy.may_post_update(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "timeline/")}"',
        page=lambda c, w, u: c.post(_url(w, "timeline/"), {"timeline-text": "Patched", "timeline-kind": "update",
                                                            "timeline-tlp": w["incident"].tlp}),
        api=lambda c, w, u: _json(c, "post", _api(w, "timeline/"), {"text": "Patched"}),
        for_every_viewer=True,
    ),
    Capability(
        "post a situation update", lambda u, w: policy.may_post_situation_update(u, w["incident"]),
        marker=lambda w, u: 'action="' + f"/incidents/board/{w['incident'].pk}/situation/" + '"',
        page=lambda c, w, u: c.post(f"/incidents/board/{w['incident'].pk}/situation/", {"text": "Stable"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "timeline/"), {"text": "Stable", "kind": "situation"}),
        where="board", for_every_viewer=True,
    ),
    Capability(
        "answer an alert on the incident page", lambda u, w: policy.is_answerable_by(u, _alert_for(w, u)),
        marker=lambda w, u: 'action="' + _url(w, f"alerts/{_alert_for(w, u).pk}/answer/") + '"',
        page=lambda c, w, u: c.post(_url(w, f"alerts/{_alert_for(w, u).pk}/answer/"), {"answer": "acknowledged"}),
        applies=lambda w: w["incident"].alerts.exists(),
        # The API's answer is the alert's own endpoint, compared on the board below. An alert of an incident the organisation may not read (TLP:RED is alerted, not shared) is
        # still its own to answer: on the board and over the API, not on the incident page (404).
        visible=lambda u, w: policy.may_see_incident(u, w["incident"].pk),
    ),
    Capability(
        "answer an alert on the board", lambda u, w: policy.is_answerable_by(u, _alert_for(w, u)),
        marker=lambda w, u: 'action="' + f"/incidents/board/alerts/{_alert_for(w, u).pk}/answer/" + '"',
        page=lambda c, w, u: c.post(f"/incidents/board/alerts/{_alert_for(w, u).pk}/answer/", {"answer": "acknowledged"}),
        api=lambda c, w, u: _json(c, "post", f"/api/v1/alerts/{_alert_for(w, u).pk}/acknowledge/", {}),
        applies=lambda w: w["incident"].alerts.exists(), where="board",
        visible=lambda u, w: selectors.alerts_visible_to(u).filter(pk=_alert_for(w, u).pk).exists(),
    ),
    Capability(
        "inform other member states", lambda u, w: policy.may_inform_other_member_states(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "inform/")}"',
        page=lambda c, w, u: c.post(_url(w, "inform/")),
        api=lambda c, w, u: _json(c, "post", _api(w, "inform-member-states/")),
    ),
    Capability(
        "submit a NIS2 report", lambda u, w: policy.may_submit_report(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "reports/early_warning/")}"',
        page=lambda c, w, u: c.post(_url(w, "reports/early_warning/"), {"report-early_warning-summary": "Wiper"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "reports/"), {"kind": "early_warning", "content": {"summary": "Wiper"}}),
    ),
    Capability(
        "add observables", lambda u, w: policy.may_add_observables(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "observables/upload/")}"',
        page=lambda c, w, u: c.post(_url(w, "observables/upload/"), {"csv-file": _csv()}),
        api=lambda c, w, u: _json(c, "post", _api(w, "observables/"),
                                  {"observables": [{"type": "ipv4", "value": "198.51.100.23"}]}),
    ),
    Capability(
        "add one observable", lambda u, w: policy.may_add_observables(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "observables/add/")}"',
        page=lambda c, w, u: c.post(_url(w, "observables/add/"), {
            "observable-type": "domain", "observable-value": "evil.example", "observable-tlp": w["incident"].tlp}),
        api=lambda c, w, u: _json(c, "post", _api(w, "observables/"),
                                  {"observables": [{"type": "domain", "value": "evil.example"}]}),
    ),
    Capability(
        "edit an observable", lambda u, w: policy.may_edit_observable(u, w["observable"]),
        marker=lambda w, u: 'href="' + _url(w, f"observables/{w['observable'].pk}/edit/") + '"',
        page=lambda c, w, u: c.post(_url(w, f"observables/{w['observable'].pk}/edit/"), {
            "observable-tlp": w["observable"].tlp, "observable-note": "Seen at the DSO", "observable-tags": "c2"}),
        api=lambda c, w, u: _json(c, "patch", _api(w, f"observables/{w['observable'].pk}/"),
                                  {"note": "Seen at the DSO", "tags": ["c2"]}),
    ),
    Capability(
        # Deleting is offered on the observable's edit page, behind the same link.
        "delete an observable", lambda u, w: policy.may_edit_observable(u, w["observable"]),
        marker=lambda w, u: 'href="' + _url(w, f"observables/{w['observable'].pk}/edit/") + '"',
        page=lambda c, w, u: c.post(_url(w, f"observables/{w['observable'].pk}/delete/")),
        api=lambda c, w, u: c.delete(_api(w, f"observables/{w['observable'].pk}/")),
    ),
    Capability(
        "add a task", lambda u, w: policy.may_add_task(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "tasks/")}"',
        page=lambda c, w, u: c.post(_url(w, "tasks/"), {"task-title": "Call the DSO"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "tasks/"), {"title": "Call the DSO"}),
        for_every_viewer=True,
    ),
    Capability(
        # A task is its organisation's: only its members see it, and they all manage it; to anyone else it
        # does not exist (404 on the page and over the API, like a missing one).
        "complete a task", lambda u, w: policy.may_manage_task(u, w["task"]),
        marker=lambda w, u: 'action="' + _url(w, f"tasks/{w['task'].pk}/done/") + '"',
        page=lambda c, w, u: c.post(_url(w, f"tasks/{w['task'].pk}/done/")),
        api=lambda c, w, u: _json(c, "patch", f"/api/v1/tasks/{w['task'].pk}/", {"done": True}),
        visible=lambda u, w: selectors.tasks_visible_to(u).filter(pk=w["task"].pk).exists(),
        for_every_viewer=True,
    ),
    Capability(
        "give the initial response", lambda u, w: policy.may_respond_initially(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "initial-response/")}"',
        page=lambda c, w, u: c.post(_url(w, "initial-response/"), {"response-text": "We are on it"}),
        api=lambda c, w, u: _json(c, "post", _api(w, "initial-response/"), {"text": "We are on it"}),
    ),
    Capability(
        "request an intermediate report", lambda u, w: policy.may_request_intermediate_report(u, w["incident"]),
        marker=lambda w, u: f'action="{_url(w, "request-intermediate/")}"',
        page=lambda c, w, u: c.post(_url(w, "request-intermediate/"), {
            "intermediate-due_at": timezone.localtime(timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")}),
    ),
]

# --- The people and the states --------------------------------------------------------------------

PERSONS = [
    "de_analyst",  # originator analyst
    "de_admin",  # originator organisation admin
    "de_liaison",  # the reporting state's crisis authority: EU-CyCLONe liaison officer
    "fr_analyst",  # recipient organisation in the AMBER state; CSIRTs Network member
    "fr_liaison",  # another state's EU-CyCLONe liaison officer
    "ie_liaison",  # the Council Presidency's crisis authority (EU-CyCLONe chair)
    "pt_analyst",  # an unrelated CSIRT (CSIRTs Network member)
    "enisa_triage",  # ENISA staff
    "enisa_admin",  # ENISA's organisation admin
    "commission",  # the Commission
    "provider",  # a Reserve provider
]


def _people(network):
    people = dict(network["people"])
    fr_authority = organisation("fr-authority", "crisis_authority", "FR", "ANSSI crisis management")
    people["fr_liaison"] = person("liaison@fr-authority.example", fr_authority, ["liaison_officer"])
    people["commission"] = person("decider@ec.example", network["orgs"]["ec"], ["decision_maker", "crisis_manager"])
    ie_authority = organisation("ie-authority", "crisis_authority", "IE", "NCSC Ireland crisis management")
    people["ie_liaison"] = person("liaison@ie-authority.example", ie_authority, ["liaison_officer"])
    presidency("IE")
    return people


def _world(network, people, *, tlp, level):
    """An incident of de-csirt affecting DE and FR, at ``tlp`` and ``level``, shared as its label allows."""
    de = people["de_analyst"]
    incident = services.report_incident(
        actor=de, organisation=network["orgs"]["de-csirt"], title="Wiper at a DSO", severity="high", tlp=tlp,
        aware_at=timezone.now() - timedelta(hours=2), affected_member_states=[member_state("DE"), member_state("FR")],
    )
    if tlp == "red":
        shares = services.share_incident(actor=de, incident=incident, people=[people["fr_analyst"]])
    elif tlp == "amber":
        shares = services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    else:
        shares = services.share_incident(actor=de, incident=incident,
                                         communities=["community:csirts-network", "community:eu-cyclone"])
    declarers = {1: "de_analyst", 2: "de_liaison", 3: "ie_liaison"}
    if level:
        services.declare_level(actor=people[declarers[level]], incident=incident, level=level, reason="Setting the scene")
    observable = services.add_observable(actor=de, incident=incident, type="ipv4", value="198.51.100.99")
    task = services.create_task(actor=de, incident=incident, title="Isolate the SCADA segment")
    # At level 2 another state's EU-CyCLONe liaison officer proposes the political level to the Presidency.
    proposal = (services.propose_level(actor=people["fr_liaison"], incident=incident, level=3, reason="Grids in many states")
                if level == 2 and tlp != "red" else None)
    incident = Incident.objects.select_related("reporting_organisation").get(pk=incident.pk)
    return {"incident": incident, "share": shares[0] if shares else None, "observable": observable, "task": task,
            "proposal": proposal}


STATES = {
    "AMBER shared with fr-csirt, level 0": dict(tlp="amber", level=0),
    "GREEN shared with both networks, level 1": dict(tlp="green", level=1),
    "GREEN shared with both networks, level 2": dict(tlp="green", level=2),
    "RED named for one person, level 2": dict(tlp="red", level=2),
    "GREEN shared with both networks, level 3 (the Presidency declared it)": dict(tlp="green", level=3),
}


def _attempt(call):
    """Run one action and roll it back, so the next one meets the same world."""
    with transaction.atomic():
        response = call()
        transaction.set_rollback(True)
    return response


def _succeeded(response) -> bool:
    return response.status_code in (200, 201, 204, 302)


@pytest.mark.parametrize("state", list(STATES))
def test_buttons_page_api_and_policy_agree_for_every_person_and_capability(network, state):
    people = _people(network)
    world = _world(network, people, **STATES[state])
    incident = world["incident"]
    disagreements = []
    for who in PERSONS:
        user = people[who]
        client = verified_client(user)
        detail = client.get(_url(world))
        board = client.get("/incidents/board/").content.decode()
        assert detail.status_code == (200 if policy.may_see_incident(user, incident.pk) else 404), f"{who}: incident page"
        pages = {"detail": detail.content.decode(), "board": board}
        for capability in CAPABILITIES:
            if not capability.applies(world):
                continue
            visible = capability.visible(user, world)
            where = f"{who} · {capability.name}"
            page = _attempt(lambda: capability.page(client, world, user))
            api = _attempt(lambda: capability.api(client, world, user)) if capability.api else None
            if not visible:
                if page.status_code != 404 or (api is not None and api.status_code != 404):
                    disagreements.append(f"{where}: invisible, page {page.status_code}, "
                                         f"API {api.status_code if api else '-'} (want 404 on both)")
                continue
            allowed = capability.allowed(user, world)
            shown = capability.marker(world, user) in pages[capability.where]
            answers = {"policy": allowed, "button": shown, "page": _succeeded(page)}
            if api is not None:
                answers["API"] = _succeeded(api)
            if len(set(answers.values())) > 1:
                codes = f"page {page.status_code}" + (f", API {api.status_code}" if api is not None else "")
                disagreements.append(f"{where}: {answers} ({codes})")
    assert not disagreements, "\n".join(disagreements)


def test_every_capability_is_granted_to_someone_and_refused_to_someone(network):
    """A control: the matrix above is not vacuous (each capability has a yes and a no among the people)."""
    people = _people(network)
    worlds = [_world(network, people, **spec) for spec in STATES.values()]
    for capability in CAPABILITIES:
        answers = {capability.allowed(people[who], w) for who in PERSONS for w in worlds
                   if capability.applies(w) and capability.visible(people[who], w)}
        assert answers == ({True} if capability.for_every_viewer else {True, False}), capability.name


@pytest.mark.parametrize("kind", ["de-csirt", "fr-csirt", "pt-csirt"])
def test_a_token_is_answered_by_the_same_policy_as_a_person(network, token_for, kind):
    """SOC tooling: the API's answer for an organisation's token is the policy's answer for its principal."""
    from csoa_portal.models import ApiToken
    from django.test import Client

    people = _people(network)
    world = _world(network, people, tlp="amber", level=0)
    raw = token_for(network["orgs"][kind])
    principal = ApiToken.objects.filter(organisation=network["orgs"][kind]).latest("id").principal
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    for capability in CAPABILITIES:
        if capability.api is None or not capability.applies(world):
            continue
        visible = capability.visible(principal, world)
        response = _attempt(lambda: capability.api(client, world, principal))
        if not visible:
            assert response.status_code == 404, capability.name
        else:
            assert _succeeded(response) == capability.allowed(principal, world), (capability.name, response.status_code)
