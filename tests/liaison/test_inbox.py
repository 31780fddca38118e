"""The dashboard inbox: each app declares which of its events are news, and for whom.

Reserve submissions reach ENISA triage, an assessment awaiting a decision reaches the
contracting authority's decision-makers, and the inbox never shows what a person may not see.
"""

import pytest

from liaison.inbox import inbox_kinds, register_inbox_kinds
from liaison.selectors import inbox_for
from reserve.workflow import RequestStatus
from tests.reserve import conftest as reserve_conftest
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db
reserve = reserve_conftest.reserve  # the Reserve's network fixture


def _inbox(person) -> list[tuple[str, str]]:
    return [(item.kind, item.payload.get("reference", "")) for item in inbox_for(person)[0]]


def test_reserve_submission_reaches_enisa_triage_inbox_with_a_link(reserve):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    triage = reserve["people"]["enisa_triage"]

    items, unread = inbox_for(triage)

    submitted = [i for i in items if i.kind == "request.submitted"]
    assert [i.payload["reference"] for i in submitted] == [request.reference]
    assert unread >= 1 and submitted[0].unread
    assert submitted[0].url and str(request.pk) in submitted[0].url


def test_assessment_awaiting_a_decision_reaches_the_contracting_authoritys_decision_maker(reserve):
    request = request_in(RequestStatus.ASSESSED, reserve)
    people = reserve["people"]

    assert ("request.assessed", request.reference) in _inbox(people["enisa_decision"])
    # The Commission sees the request but is not the contracting authority: not its decision to take.
    assert ("request.assessed", request.reference) not in _inbox(people["ec_decision"])
    # Triage assessed it themselves: not news for them.
    assert ("request.assessed", request.reference) not in _inbox(people["enisa_triage"])


def test_a_commission_decision_maker_who_also_works_at_enisa_is_not_told_of_an_assessment(reserve):
    """Deciding is a seat (decision-maker *of* the contracting authority), not two group names held apart."""
    from liaison import services as network_services

    people = reserve["people"]
    network_services.add_membership(actor=None, user=people["ec_decision"], organisation=reserve["orgs"]["enisa"],
                                    role="liaison_officer")
    request = request_in(RequestStatus.ASSESSED, reserve)

    assert ("request.assessed", request.reference) not in _inbox(people["ec_decision"])
    assert ("request.assessed", request.reference) in _inbox(people["enisa_decision"])


def test_reserve_items_stay_out_of_the_inbox_of_people_who_may_not_see_the_request(reserve):
    request = request_in(RequestStatus.ASSESSED, reserve)
    people = reserve["people"]

    for outsider in ("pt_analyst", "fr_analyst", "provider", "beta"):
        assert all(ref != request.reference for _, ref in _inbox(people[outsider])), outsider
    # The requester hears back when asked or decided, not of the authority's internal steps.
    assert ("request.assessed", request.reference) not in _inbox(people["de_analyst"])


def test_decision_reaches_the_requesters_inbox(reserve):
    request = request_in(RequestStatus.REJECTED, reserve)

    assert ("request.decided", request.reference) in _inbox(reserve["people"]["de_analyst"])


def test_each_app_declares_its_own_inbox_kinds():
    kinds = inbox_kinds()
    assert {"incident.shared", "alert.raised"} <= kinds  # incidents/apps.py
    assert {"request.submitted", "request.assessed", "request.decided", "provider.engaged"} <= kinds  # reserve


def test_a_kind_whose_recipients_are_declared_twice_is_refused():
    with pytest.raises(ValueError, match="request.assessed"):
        register_inbox_kinds("elsewhere", ["request.assessed"], addressed={"request.assessed": lambda e, u, n: True})
    assert "request.assessed" in inbox_kinds()  # the first declaration stands
