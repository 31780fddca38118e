"""The incident list renders plain rows (incidents.api.listing) exactly as IncidentListSerializer renders models."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from incidents import services
from incidents.api.serializers import IncidentListSerializer
from incidents.models import Incident, IncidentCategory, Sector
from incidents.selectors import incidents_visible_to
from liaison.services import service_account_for
from tests.factories import member_state


def _expected_body(organisation, *, next_url=None, previous_url=None, ids=None) -> bytes:
    """The page as the serializer renders it from model instances (what the list answered before the fast path)."""
    incidents = incidents_visible_to(service_account_for(organisation)).order_by("-id")
    if ids is not None:
        incidents = incidents.filter(pk__in=ids)
    data = IncidentListSerializer(list(incidents), many=True).data
    return JSONRenderer().render({"next": next_url, "previous": previous_url, "results": data})


@pytest.fixture
def varied(network, freezer):
    """Incidents covering every branch of an item: relations empty and several, clocks met, open, overdue or none."""
    freezer.move_to("2026-06-01T08:00:00Z")
    de, org = network["people"]["de_analyst"], network["orgs"]["de-csirt"]
    now = timezone.now()

    def report(title, **facts):
        facts.setdefault("aware_at", now - timedelta(hours=1))
        return services.report_incident(actor=de, organisation=org, title=title, **facts)

    report("Bare")
    rich = report(
        "Wiper „Netz“ <b>&</b> 'quoted' \\ \u2028", tlp="green", severity="critical",
        category=IncidentCategory.objects.get(code="availability/ddos"),
        affected_member_states=[member_state("FR"), member_state("DE"), member_state("PT")],
        sectors=[Sector.objects.get(code="energy.electricity"), Sector.objects.get(code="energy")],
        tags=['rsit:malicious-code="infected-system"', "wiper", "nis:impact-severity=\"red\""],
        early_warning={"summary": "Wiper on the grid operator"},
    )
    services.submit_report(actor=de, incident=rich, kind="notification",
                           content={"initial_assessment": "High", "impact": "Grid"})
    services.record_initial_response(actor=de, incident=rich, text="Isolate the OT network")
    services.share_incident(actor=de, incident=rich, member_states=[member_state("DE")])
    services.request_intermediate_report(actor=network["people"]["de_liaison"], incident=rich,
                                         due_at=now + timedelta(hours=3))
    report("Overdue", aware_at=now - timedelta(days=4), severity="high")
    report("Voluntary", significance="voluntary")
    freezer.move_to("2026-06-01T09:30:00Z")
    return SimpleNamespace(analyst=de, organisation=org)


def test_the_list_answers_byte_for_byte_what_the_list_serializer_renders(varied, de_tool_for):
    response = de_tool_for("de-csirt").get("/api/v1/incidents/")
    assert response.status_code == 200
    assert response.content == _expected_body(varied.organisation)
    items = {i["title"]: i for i in response.json()["results"]}
    assert items["Bare"]["category"] is None and items["Voluntary"]["next_deadline"] is None
    assert items["Overdue"]["overdue"] is True and items["Overdue"]["next_deadline"]["state"] == "overdue"
    rich = next(i for i in items.values() if i["tlp"] == "green")
    assert rich["affected_member_states"] == ["DE", "FR", "PT"] and rich["sectors"] == ["energy", "energy.electricity"]
    assert rich["next_deadline"]["label"].endswith("request 1")
    assert rich["tags"][0] == "tlp:green" and "wiper" in rich["tags"]


def test_each_page_of_a_filtered_list_matches_the_serializer(varied, de_tool_for):
    client = de_tool_for("de-csirt")
    first = client.get("/api/v1/incidents/", {"page_size": 1, "severity": "medium"})
    body = first.json()
    assert first.status_code == 200 and len(body["results"]) == 1 and body["next"]
    shown = [i["id"] for i in body["results"]]
    assert first.content == _expected_body(varied.organisation, next_url=body["next"], ids=shown)
    second = client.get(body["next"])
    rest = [i["id"] for i in second.json()["results"]]
    assert set(rest).isdisjoint(shown) and rest
    listed = set(Incident.objects.filter(severity="medium").values_list("pk", flat=True))
    assert set(shown) | set(rest) == listed
    assert second.content == _expected_body(varied.organisation, previous_url=second.json()["previous"], ids=rest)


def test_an_organisation_sees_only_what_it_was_given_in_the_same_shape(varied, network, de_tool_for):
    fr = network["orgs"]["fr-csirt"]
    assert de_tool_for("fr-csirt").get("/api/v1/incidents/").content == _expected_body(fr)
    shared = Incident.objects.get(title="Overdue")
    services.share_incident(actor=varied.analyst, incident=shared, organisations=[network["orgs"]["fr-csirt"]])
    response = de_tool_for("fr-csirt").get("/api/v1/incidents/")
    assert [i["id"] for i in response.json()["results"]] == [shared.pk]
    assert response.content == _expected_body(fr)


@pytest.fixture
def de_tool_for(network, token_for):
    return lambda code: Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs'][code])}")


def test_a_filtered_list_over_the_api_reads_no_choices_of_the_pages_select_boxes(varied, de_tool_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = de_tool_for("de-csirt")
    client.get("/api/v1/incidents/", {"severity": "medium"})
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/api/v1/incidents/", {"severity": "medium", "member_state": "DE"})
    assert response.status_code == 200
    read = " ".join(q["sql"] for q in captured.captured_queries)
    assert "incidents_sector" not in read and "incidents_crisislevel" not in read and "incidents_blueprint" not in read


def test_the_list_page_still_offers_member_states_sectors_and_crisis_levels(varied, network, login):
    page = login(network["people"]["de_analyst"]).get("/incidents/", {"severity": "medium"})
    html = page.content.decode()
    assert page.status_code == 200
    assert '<option value="DE">' in html and '<option value="energy.electricity">' in html
    assert '<option value="0">0 — ' in html


def test_each_relation_of_an_item_is_sorted_by_the_column_its_model_orders_by():
    from incidents.api.listing import NAMES

    assert {key: relation.field.related_model._meta.ordering for key, relation, _ in NAMES} == {
        key: [shown] for key, _, shown in NAMES}


def test_the_paged_form_of_the_visibility_check_selects_exactly_the_joined_forms_incidents(varied, network):
    """The list's page query checks the grant per incident (``paged``); counts use the join: same incidents."""
    for person in [*network["people"].values(), *map(service_account_for, network["orgs"].values())]:
        joined = incidents_visible_to(person).order_by("-id")
        paged = incidents_visible_to(person, paged=True).order_by("-id")

        assert list(paged.values_list("id", flat=True)) == list(joined.values_list("id", flat=True)), person
        assert paged.filter(severity="critical").count() == joined.filter(severity="critical").count()
