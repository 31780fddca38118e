"""The network over the API: member states and organisations with their stable codes."""

import re

import pytest

from liaison.models import MemberState
from tests import factories
from tests.api.support import assert_error

MEMBER_STATES = "/api/v1/member-states/"
ORGS = "/api/v1/organisations/"


def _walk(client, url) -> list[dict]:
    """Follow ``next`` links to the end: every row of a cursor-paginated list."""
    rows = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        rows += response.json()["results"]
        url = response.json()["next"]
    return rows


def test_member_states_are_the_27_eu_members_the_third_countries_and_the_eu(de_client):
    rows = _walk(de_client, MEMBER_STATES)

    assert all(set(row) == {"code", "eu_label", "name", "kind", "time_zone", "reserve_eligible", "is_active"}
               for row in rows)
    assert all(re.fullmatch(r"[A-Z]{2}", row["code"]) for row in rows)
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row["kind"], set()).add(row["code"])
    assert len(by_kind["eu_member"]) == 27
    assert {"DE", "FR", "PT", "GR", "SE"} <= by_kind["eu_member"]
    assert {"NO", "IS", "UA", "TR"} <= by_kind["dep_associated"]
    assert not any(row["reserve_eligible"] for row in rows)  # CSoA Art. 19: off until ENISA records it
    assert by_kind["euiba"] == {"EU"}
    assert [row["code"] for row in rows] == sorted(row["code"] for row in rows)


def test_greece_has_iso_code_gr_and_eu_label_el(de_client):
    response = de_client.get(f"{MEMBER_STATES}GR/")

    assert response.json() == {
        "code": "GR", "eu_label": "EL", "name": "Greece", "kind": "eu_member", "time_zone": "Europe/Athens",
        "reserve_eligible": False, "is_active": True,
    }


def test_member_state_lookup_ignores_case(de_client):
    assert de_client.get(f"{MEMBER_STATES}de/").json()["code"] == "DE"


def test_unknown_member_state_gets_404_naming_the_code(de_client):
    assert_error(de_client.get(f"{MEMBER_STATES}xx/"), 404, code="not_found", says="No member state with code 'XX'.")


def test_organisations_show_code_kind_and_member_state(de_client):
    rows = {row["code"]: row for row in _walk(de_client, ORGS)}

    assert rows["de-csirt"] == {
        "code": "de-csirt", "name": "CERT-Bund", "kind": "national_csirt", "member_state": "DE", "is_active": True
    }
    assert rows["enisa"]["member_state"] is None
    assert rows["cert-eu"]["member_state"] == "EU"


def test_organisations_filter_by_kind_and_member_state(de_client):
    csirts = _walk(de_client, f"{ORGS}?kind=national_csirt")
    german = _walk(de_client, f"{ORGS}?member_state=de")
    german_csirts = _walk(de_client, f"{ORGS}?member_state=DE&kind=national_csirt")

    assert {r["code"] for r in csirts} == {"de-csirt", "fr-csirt", "pt-csirt"}
    assert {r["code"] for r in german} == {"de-csirt", "de-authority", "provider-acme"}
    assert [r["code"] for r in german_csirts] == ["de-csirt"]


def test_member_state_without_organisations_filters_to_an_empty_list(de_client):
    assert _walk(de_client, f"{ORGS}?member_state=MT") == []


def test_unknown_member_state_filter_gets_400_naming_the_field(de_client):
    assert_error(
        de_client.get(f"{ORGS}?member_state=XX"), 400, code="invalid", fields=["member_state"], says="'XX'"
    )


def test_unknown_kind_filter_gets_400_naming_the_field(de_client):
    assert_error(de_client.get(f"{ORGS}?kind=embassy"), 400, fields=["kind"], says="Unknown organisation kind 'embassy'")


def test_cursor_pages_return_every_organisation_once_in_code_order(de_client):
    first = de_client.get(f"{ORGS}?page_size=3").json()
    assert len(first["results"]) == 3 and first["previous"] is None

    rows = _walk(de_client, f"{ORGS}?page_size=3")

    codes = [row["code"] for row in rows]
    assert codes == sorted(codes) and len(codes) == len(set(codes))
    assert len(codes) == len(_walk(de_client, ORGS)) >= 8


def test_cursor_pages_are_stable_when_organisations_are_added(de_client):
    first = de_client.get(f"{ORGS}?page_size=3").json()
    factories.organisation("at-csirt", "national_csirt", "AT")  # sorts before the cursor position

    rest = _walk(de_client, first["next"])

    seen = [r["code"] for r in first["results"]] + [r["code"] for r in rest]
    assert len(seen) == len(set(seen))
    assert "at-csirt" not in seen


def test_bad_cursor_gets_400_naming_cursor(de_client):
    assert_error(de_client.get(f"{ORGS}?cursor=not-a-cursor"), 400, fields=["cursor"])


def test_organisation_detail_and_unknown_code(de_client):
    assert de_client.get(f"{ORGS}DE-CSIRT/").json()["code"] == "de-csirt"
    assert_error(de_client.get(f"{ORGS}nowhere/"), 404, says="No organisation with code 'nowhere'.")


def test_organisation_list_costs_the_same_queries_whatever_its_length(de_client, django_assert_max_num_queries):
    for code in ("at", "be", "bg", "hr", "cy", "cz", "dk", "ee", "fi", "ie"):
        factories.organisation(f"{code}-csirt", "national_csirt", code.upper())

    # token lookup + last-used update + member-state check + the page: never one per row.
    with django_assert_max_num_queries(5):
        response = de_client.get(f"{ORGS}?page_size=100&member_state=at")
    with django_assert_max_num_queries(5):
        response = de_client.get(f"{ORGS}?page_size=100")
    assert len(response.json()["results"]) >= 18


@pytest.mark.parametrize("url", ["/api/v1/", MEMBER_STATES, f"{MEMBER_STATES}DE/", ORGS, f"{ORGS}de-csirt/"])
def test_api_endpoints_need_authentication(db, client, url):
    assert_error(client.get(url), 401)


def test_api_root_links_every_collection(de_client):
    response = de_client.get("/api/v1/")

    links = response.json()
    assert response.status_code == 200
    assert links["member-states"] == "http://testserver/api/v1/member-states/"
    assert links["organisations"] == "http://testserver/api/v1/organisations/"
    assert links["events"] == "http://testserver/api/v1/events/"
    assert links["schema"].endswith("/api/schema/") and links["docs"].endswith("/api/docs/")


def test_member_state_count_matches_the_database(de_client):
    assert len(_walk(de_client, MEMBER_STATES)) == MemberState.objects.count()
