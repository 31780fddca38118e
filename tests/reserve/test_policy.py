"""reserve.policy: one answer per person, and the reminders of the 48-hour clock reach the same people."""

from datetime import timedelta

import pytest

from csoa_portal.sweep import run_sweep
from liaison.selectors import inbox_for
from reserve import policy
from reserve.workflow import RequestStatus, Role
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db


def _told(user) -> bool:
    return any(i.kind == "deadline.reminder" and i.subject_type == "assistance_request" for i in inbox_for(user)[0])


@pytest.mark.parametrize("authority, told, not_told", [
    ("enisa", {"enisa_triage", "enisa_decision"}, {"ec_decision", "enisa_admin", "de_analyst"}),
    ("ec", {"enisa_triage", "ec_decision"}, {"enisa_decision", "de_analyst"}),
])
def test_response_clock_reminder_reaches_triage_and_the_contracting_authoritys_decision_makers_only(
        reserve, freezer, settings, authority, told, not_told):
    settings.RESERVE_CONTRACTING_AUTHORITY = authority
    request = request_in(RequestStatus.SUBMITTED, reserve)
    freezer.move_to(request.submitted_at + timedelta(hours=36, minutes=1))
    run_sweep()
    people = reserve["people"]
    assert {who for who in told | not_told if _told(people[who])} == told


def test_who_decides_follows_the_contracting_authority_setting(reserve, settings):
    p = reserve["people"]
    request = request_in(RequestStatus.ASSESSED, reserve)
    assert Role.DECISION_MAKER in policy.roles_for(p["enisa_decision"], request)
    assert Role.DECISION_MAKER not in policy.roles_for(p["ec_decision"], request)
    assert policy.request_actions(p["ec_decision"], request) == []
    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"
    assert policy.request_actions(p["ec_decision"], request) == ["approve", "reject"]
    assert policy.capabilities(p["ec_decision"]).decisions


@pytest.mark.parametrize("who, granted", [
    ("enisa_triage", {"triage_queue", "dashboard", "ranking", "engage", "assessments", "triage", "registry_view",
                      "registry_edit"}),
    ("enisa_admin", {"triage_queue", "dashboard", "assessments", "registry_view", "registry_edit"}),
    ("enisa_decision", {"triage_queue", "dashboard", "assessments", "decisions", "registry_view"}),
    ("ec_decision", {"triage_queue", "dashboard", "assessments", "registry_view"}),
    ("provider", {"engagements"}),
    ("de_analyst", set()),
    ("de_spoc", set()),
])
def test_each_kind_of_person_gets_its_capabilities(reserve, who, granted):
    answer = policy.capabilities(reserve["people"][who])
    assert {name for name in policy.Capabilities.names() if getattr(answer, name)} == granted
