"""A deactivated organisation keeps its history, but nobody acts or reads for it any more.

Its people keep their accounts (they may belong to another organisation too), but their membership
of it gives them nothing: on every generated read path (API operations, pages) its former analyst
learns about the permission matrix's subjects exactly what an unrelated organisation learns, and
no write path lets them act for it. Reactivated, the organisation's people find their work again.
"""

import pytest

from incidents import policy as incident_policy
from incidents import services as incident_services
from liaison import services as liaison_services
from tests.conftest import verified_client
from tests.security.support import api_get_routes, body, fill, page_routes
from tests.security import test_permission_matrix as matrix
from tests.security.test_permission_matrix import MARKER, QUERIES, _ids, _leaks, _released

world = matrix.world  # the matrix's subjects, as a fixture of this module too


def _set_active(network, code: str, active: bool) -> None:
    organisation = network["orgs"][code]
    organisation.refresh_from_db()
    liaison_services.update_organisation(
        actor=network["people"]["enisa_admin"], organisation=organisation, name=organisation.name,
        kind=organisation.kind, member_state=organisation.member_state, contact_email=organisation.contact_email,
        is_active=active)


@pytest.fixture
def deactivated(network, world):
    """The world of the permission matrix, then de-csirt deactivated by ENISA's network administrator."""
    _set_active(network, "de-csirt", False)
    return world


def test_a_former_member_reads_nothing_of_the_organisations_work_through_the_api(network, deactivated):
    session = verified_client(network["people"]["de_analyst"])
    ids = _ids(deactivated)
    operations = api_get_routes()

    assert _leaks(session, operations, ids) == []
    assert _leaks(session, [r for r in operations if "/warnings/" in r], _released(ids, deactivated)) == []


def test_a_former_member_reads_nothing_of_the_organisations_work_on_the_pages(network, deactivated, login):
    client = login(network["people"]["de_analyst"])
    ids = _ids(deactivated)
    routes = list(page_routes())

    assert _leaks(client, routes, ids) == []
    assert _leaks(client, [r for r in routes if "/warnings/" in r], _released(ids, deactivated),
                  public={"/awareness/warnings/<int:pk>/public.json"}) == []


def test_a_former_member_acts_for_the_organisation_nowhere(network, deactivated, login):
    de, org = network["people"]["de_analyst"], network["orgs"]["de-csirt"]
    org.refresh_from_db()
    incident, task = deactivated["incident"], deactivated["task"]

    with pytest.raises(Exception) as refused:
        incident_services.report_incident(actor=de, organisation=org, title="After the end", aware_at=incident.aware_at,
                                          tlp="amber")
    assert "de-csirt" in str(refused.value)
    assert not incident_policy.may_manage_task(de, task)
    assert not incident_policy.may_answer_alert(de, deactivated["alert"])
    assert not incident_policy.may_post_update(de, incident)
    page = login(de).post("/incidents/new/", {"title": "After the end", "aware_at": "2026-06-01T08:00",
                                              "tlp": "amber", "severity": "medium", "organisation": org.code})
    assert page.status_code == 400 and "organisation" in page.context["form"].errors
    assert not incident.__class__.objects.filter(title="After the end").exists()


def test_reactivated_the_organisations_people_find_their_work_again(network, deactivated):
    _set_active(network, "de-csirt", True)
    session = verified_client(network["people"]["de_analyst"])
    ids = _ids(deactivated)

    seen = [route for route in ("/api/v1/incidents/{id}/", "/api/v1/tasks/{id}/", "/api/v1/warnings/{id}/",
                                "/api/v1/lessons/{id}/", "/api/v1/assistance-requests/{id}/")
            if MARKER in body(session.get(fill(route, ids), QUERIES.get(route, {})))]
    assert len(seen) == 5, seen


def test_the_dashboard_tells_a_former_member_the_organisation_is_deactivated(network, deactivated, login):
    page = login(network["people"]["de_analyst"]).get("/")
    assert page.status_code == 200
    assert 'title="Deactivated: you act and read for it nowhere until it is reactivated">deactivated</span>' in page.content.decode()
    _set_active(network, "de-csirt", True)
    assert ">deactivated</span>" not in login(network["people"]["de_analyst"]).get("/").content.decode()
