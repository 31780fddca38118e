"""One filter definition for the incident list page and the API; id filters are no oracle;
one situation-update rule for the board and the sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import clocks, policy, services
from incidents.models import Deadline, Incident, IncidentCategory, Sector
from incidents.services.reminders import keep_situation_update_clocks
from tests.factories import member_state


def _report(network, title, **extra):
    fields = {"aware_at": timezone.now() - timedelta(hours=2), "tlp": "amber", "severity": "medium", **extra}
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, **fields)


@pytest.fixture
def listed(network):
    """Incidents that differ in every filtered field, all of de-csirt."""
    de = network["people"]["de_analyst"]
    energy = Sector.objects.get(code="energy")
    sub = Sector.objects.filter(parent=energy).first()
    _report(network, "Red wiper", tlp="red", severity="critical", description="Wiper in the grid")
    _report(network, "Cross-border phishing", affected_member_states=[member_state("DE"), member_state("FR")],
            sectors=[sub], category=IncidentCategory.objects.get(code="fraud/phishing"))
    contained = _report(network, "Contained DDoS", category=IncidentCategory.objects.get(code="availability/ddos"),
                        sectors=[energy])
    services.change_status(actor=de, incident=contained, status="contained")
    old = _report(network, "Old scan", aware_at=timezone.now() - timedelta(days=40))
    Incident.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=39))
    return {"old": old, "contained": contained}


PARAMS = [
    {},
    {"tlp": "red"},
    {"status": "contained"},
    {"severity": "critical"},
    {"member_state": "FR"},
    {"member_state": "fr"},
    {"sector": "energy"},
    {"category": "availability"},
    {"category": "fraud/phishing"},
    {"q": "wiper"},
    {"overdue": "true"},
    {"overdue": "false"},
    {"crisis_level": "0"},
    {"updated_since": (timezone.now() - timedelta(days=1)).date().isoformat()},
    {"tlp": "amber", "status": "open", "member_state": "", "overdue": ""},
]


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "none")
def test_the_list_page_and_the_api_return_the_same_incidents_for_the_same_filters(network, login, listed, params):
    client = login(network["people"]["de_analyst"])
    page = client.get("/incidents/", params)
    api = client.get("/api/v1/incidents/", {**params, "page_size": 100})
    assert page.status_code == api.status_code == 200
    on_page = {i.title for i in page.context["page"]}
    assert on_page == {row["title"] for row in api.json()["results"]}
    assert on_page  # each filter selects something here
    if params:  # and leaves something out: a filter ignored by both would not pass
        assert len(on_page) < 4 or set(params.values()) <= {"", "amber", "open", "false", "0"}


def test_the_reference_filter_finds_the_same_incident_on_the_page_and_over_the_api(network, login, listed):
    client = login(network["people"]["de_analyst"])
    reference = listed["old"].reference
    assert [i.title for i in client.get("/incidents/", {"q": reference}).context["page"]] == ["Old scan"]
    assert [r["title"] for r in client.get("/api/v1/incidents/", {"q": reference.lower()}).json()["results"]] == ["Old scan"]


@pytest.mark.parametrize("field, value", [("tlp", "purple"), ("member_state", "XX"), ("sector", "nope"),
                                          ("category", "nope"), ("status", "sleeping")])
def test_an_unknown_filter_value_is_a_400_naming_the_filter_on_the_page_and_over_the_api(network, login, field, value):
    client = login(network["people"]["de_analyst"])
    page = client.get("/incidents/", {field: value})
    api = client.get("/api/v1/incidents/", {field: value})
    assert page.status_code == api.status_code == 400
    assert field in page.context["form"].errors
    assert field in str(api.json())


def test_an_invisible_incident_id_in_the_alert_filter_is_answered_like_a_missing_one(network, login):
    hidden = _report(network, "Not for PT")
    client = login(network["people"]["pt_analyst"])
    invisible = client.get("/api/v1/alerts/", {"incident": hidden.pk})
    missing = client.get("/api/v1/alerts/", {"incident": hidden.pk + 1000})
    assert invisible.status_code == missing.status_code == 400
    # The bodies differ only by the id echoed back.
    assert invisible.content.decode().replace(f"'{hidden.pk}'", "'ID'") == \
        missing.content.decode().replace(f"'{hidden.pk + 1000}'", "'ID'")


def test_the_originator_filters_alerts_by_its_own_incident(network, login):
    own = _report(network, "Ours")
    response = login(network["people"]["de_analyst"]).get("/api/v1/alerts/", {"incident": own.pk})
    assert response.status_code == 200


def test_the_board_and_the_sweep_owe_the_same_situation_update(network, login, django_capture_on_commit_callbacks):
    incident = _report(network, "Large-scale", severity="high")
    services.declare_level(actor=network["people"]["de_liaison"], incident=incident, level=2, reason="Two states down")
    keep_situation_update_clocks()
    row = Deadline.objects.get(incident=incident, clock=clocks.Clock.SITUATION_UPDATE)
    board = login(network["people"]["de_analyst"]).get("/incidents/board/")
    cards = [r for group in board.context["levels"] for r in group["rows"] if r["incident"].pk == incident.pk]
    assert cards and cards[0]["situation_due"] == row.due_at


def test_declarable_levels_follow_the_blueprint_roles_of_the_body_in_charge(network):
    incident = _report(network, "Grid")
    people = network["people"]
    assert [lv.number for lv in policy.declarable_levels(people["de_analyst"], incident)] == [1]
    # The reporting state's crisis authority: levels 1 and 2; level 3 is the Council Presidency's (Ireland's).
    assert [lv.number for lv in policy.declarable_levels(people["de_liaison"], incident)] == [1, 2]
    assert policy.declarable_levels(people["provider"], incident) == []
    assert policy.deescalatable_levels(people["de_liaison"], incident) == []  # level 0: nothing to lower
