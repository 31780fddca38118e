""""What you can do now" on an incident and on a Reserve request: the person's actions, one button each,
those waiting for them first; when there is none, who acts next.

The actions come from the policies (``incidents.policy.next_actions`` over ``incident_capabilities``,
``reserve.policy.request_actions`` and ``Capabilities``), so a button is never offered that the
action would refuse: the generated agreement tests (tests/incidents/test_policy_agreement.py,
tests/reserve/test_policy_agreement.py) check the forms the buttons lead to.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from incidents import services
from incidents.services.alerts import answer_alert
from reserve.workflow import RequestStatus
from tests.factories import member_state
from tests.reserve import factories as rf
from tests.reserve.conftest import reserve  # noqa: F401 - the Reserve's network, for the request pages

pytestmark = pytest.mark.django_db


def _report(network, **facts):
    facts = {"tlp": "amber", "severity": "high", **facts}
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Wiper at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), affected_member_states=[member_state("DE")], **facts)


def _box(response) -> str:
    """The text of the "What you can do now" box, tags kept (the buttons are links)."""
    assert response.status_code == 200
    html = response.content.decode()
    match = re.search(r'<section class="card (?:next-actions|actions-card)" id="(?:next-actions|actions)".*?</section>',
                      html, re.S)
    assert match, "no 'What you can do now' box"
    return unescape(match.group(0))


def _buttons(box: str) -> list[str]:
    return [re.sub(r"\s+", " ", label).strip() for label in re.findall(r'<a class="button[^"]*"[^>]*>(.*?)</a>', box)]


# --- The incident page -------------------------------------------------------------------------------


def test_the_reporter_sees_the_report_due_first_then_its_other_actions(network, login):
    incident = _report(network)
    box = _box(login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/"))
    buttons = _buttons(box)
    assert buttons[0] == "Submit the early warning"
    assert {"Edit the facts", "Share", "Change the status", "Post an update"} <= set(buttons)
    assert 'href="#report-early_warning"' in box and f'href="/incidents/{incident.pk}/edit/"' in box
    assert "who-acts-next" not in box


def test_a_recipient_with_nothing_to_do_is_told_who_acts_next(network, login):
    incident = _report(network)
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    box = _box(login(network["people"]["fr_analyst"]).get(f"/incidents/{incident.pk}/"))
    assert _buttons(box) == ["Post an update"]
    assert "CERT-Bund submits the early warning next" in box
    assert "Edit the facts" not in box and "Share" not in _buttons(box)


def test_an_open_level_3_proposal_names_the_council_presidency_as_the_one_who_decides(
        network, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(network, national_capacity_exceeded=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"], network["orgs"]["de-authority"]])
    # The German crisis authority is in EU-CyCLONe: it proposes level 3 and may lower level 2.
    liaison = login(network["people"]["de_liaison"])
    buttons = _buttons(_box(liaison.get(f"/incidents/{incident.pk}/")))
    assert "Propose level 3" in buttons and "De-escalate" in buttons
    services.propose_level(actor=network["people"]["de_liaison"], incident=incident, level=3,
                           reason="Grids in many member states")
    fr_alert = incident.alerts.get(organisation__code="fr-csirt")  # answered: nothing waits for CERT-FR now
    answer_alert(actor=network["people"]["fr_analyst"], alert=fr_alert, affected=True)
    box = _box(login(network["people"]["fr_analyst"]).get(f"/incidents/{incident.pk}/"))
    assert "The Council Presidency decides on level 3 (cyber crisis); you will see the decision here." in box


def test_an_alert_to_answer_comes_first_and_leads_to_the_alerts(network, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(network, technical_cooperation_requested=True, tlp="green")
    incident.refresh_from_db()
    assert incident.crisis_level == 1 and incident.alerts.filter(organisation__code="fr-csirt").exists()
    box = _box(login(network["people"]["fr_analyst"]).get(f"/incidents/{incident.pk}/"))
    assert _buttons(box)[0] == "Answer the alert to your organisation"
    assert 'href="#alerts"' in box


# --- The Reserve request page ------------------------------------------------------------------------


@pytest.mark.parametrize("state, sentence", [
    (RequestStatus.SUBMITTED, "ENISA triage assesses it before the 48-hour clock runs out; you will be told."),
    (RequestStatus.ASSESSED, "ENISA, the contracting authority, decides; you will be told."),
])
def test_the_requester_waiting_on_the_contracting_authority_is_told_who_acts_next(reserve, login,  # noqa: F811
                                                                                  state, sentence):
    request = rf.request_in(state, reserve)
    box = _box(login(reserve["people"]["de_analyst"]).get(f"/reserve/requests/{request.pk}/"))
    assert "Nothing waits for you at this stage" in box and sentence in box


def test_the_decision_maker_gets_one_button_to_decide_and_triage_one_to_assess(reserve, login):  # noqa: F811
    assessed = rf.request_in(RequestStatus.ASSESSED, reserve)
    box = _box(login(reserve["people"]["enisa_decision"]).get(f"/reserve/requests/{assessed.pk}/"))
    assert _buttons(box) == ["Decide: approve or reject"]
    assert f'href="/reserve/requests/{assessed.pk}/decide/"' in box
    submitted = rf.request_in(RequestStatus.SUBMITTED, reserve)
    box = _box(login(reserve["people"]["enisa_triage"]).get(f"/reserve/requests/{submitted.pk}/"))
    assert _buttons(box) == ["Assess the request"]


def test_the_commissions_decision_maker_is_told_that_the_contracting_authority_decides(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    box = _box(login(reserve["people"]["ec_decision"]).get(f"/reserve/requests/{request.pk}/"))
    assert _buttons(box) == []
    assert "ENISA, the contracting authority, decides." in box  # the Commission follows, it is not told as requester


def test_a_closed_deployment_asks_the_requester_for_the_after_action_report(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.CLOSED, reserve)
    box = _box(login(reserve["people"]["de_analyst"]).get(f"/reserve/requests/{request.pk}/"))
    assert "Submit the after-action report" in _buttons(box)
    box = _box(login(reserve["people"]["enisa_triage"]).get(f"/reserve/requests/{request.pk}/"))
    assert "CERT-Bund submits the after-action report." in box
