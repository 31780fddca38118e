"""Situation updates carry the NIS Cooperation Group's assessment as data: impact severity, its outlook
for the next 6 hours, root cause and threat severity. Posted from the board, the incident page and the
API; shown as labelled badges; filtered on the board and the API by the latest situation update the
reader may see; exported to STIX. An update labelled stricter than its incident stays with its author's
organisation, its assessment too."""

import html
import importlib
import json

import pytest
import stix2
from django.apps import apps
from django.core.exceptions import ValidationError
from django.test import Client

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import TimelineEntry
from incidents.selectors import timeline_visible_to
from incidents.stix import bundle_for, serialize
from liaison.models import Event
from tests import factories

ASSESSED = {"impact_severity": "red", "impact_outlook": "worsening", "root_cause": "malicious_action",
            "threat_severity": "high"}
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def enisa_officer(network):
    return factories.person("liaison@enisa.example", network["orgs"]["enisa"], ["liaison_officer"])


@pytest.fixture
def shared(network, incident):
    """The AMBER DE incident, shared with DE's crisis authority and ENISA: three organisations read it."""
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["de-authority"], network["orgs"]["enisa"]])
    return incident


def _situation(person, incident, text="Situation", tlp=None, **assessment):
    return services.add_timeline_entry(actor=person, incident=incident, text=text, kind="situation", tlp=tlp,
                                       **assessment)


def _card_ids(response) -> set[int]:
    return {row["incident"].pk for group in response.context["levels"] for row in group["rows"]}


# --- The service ----------------------------------------------------------------------------------


def test_situation_update_stores_the_assessment_and_says_it_in_audit_and_event(network, incident):
    entry = _situation(network["people"]["de_analyst"], incident, text="OT isolated.", **ASSESSED)

    entry.refresh_from_db()
    assert {f: getattr(entry, f) for f in ASSESSED} == ASSESSED
    assert entry.text == "OT isolated."  # the text is the text: nothing folded into it
    audit = AuditEntry.objects.get(action="timeline.added", object_id=str(entry.pk))
    assert {f: audit.after[f] for f in ASSESSED} == ASSESSED
    event = Event.objects.get(kind="timeline.added")
    assert {f: event.payload[f] for f in ASSESSED} == ASSESSED


@pytest.mark.parametrize("field,bad,allowed", [
    ("impact_severity", "orange", "red, yellow, green, white"),
    ("impact_outlook", "sideways", "improving, stable, worsening"),
    ("root_cause", "aliens", "system_failure, natural_phenomenon, human_error, malicious_action, third_party_failure"),
    ("threat_severity", "critical", "high, medium, low"),
])
def test_unknown_assessment_is_refused_naming_the_field_and_its_values_and_nothing_is_written(
        network, incident, field, bad, allowed):
    events_before = Event.objects.count()
    with pytest.raises(ValidationError) as refused:
        _situation(network["people"]["de_analyst"], incident, **{field: bad})
    assert list(refused.value.message_dict) == [field]
    assert allowed in refused.value.message_dict[field][0] and repr(bad) in refused.value.message_dict[field][0]
    assert not TimelineEntry.objects.filter(incident=incident).exists()
    assert Event.objects.count() == events_before


def test_a_plain_update_cannot_carry_an_assessment(network, incident):
    with pytest.raises(ValidationError) as refused:
        services.add_timeline_entry(actor=network["people"]["de_analyst"], incident=incident, text="Note",
                                    impact_severity="red", threat_severity="low")
    assert set(refused.value.message_dict) == {"impact_severity", "threat_severity"}
    assert "Only a situation update carries" in refused.value.message_dict["impact_severity"][0]
    assert not TimelineEntry.objects.filter(incident=incident).exists()
    plain = services.add_timeline_entry(actor=network["people"]["de_analyst"], incident=incident, text="Note")
    assert (plain.impact_severity, plain.impact_outlook, plain.root_cause, plain.threat_severity) == ("", "", "", "")


# --- The pages ------------------------------------------------------------------------------------


def test_board_situation_update_stores_the_four_assessments(network, shared, login):
    client = login(network["people"]["de_liaison"])

    response = client.post(f"/incidents/board/{shared.pk}/situation/",
                           {"text": "Substations on manual control.", **ASSESSED}, **HTMX)

    assert response.status_code == 200 and "Situation update posted" in response.content.decode()
    entry = TimelineEntry.objects.get(incident=shared)
    assert entry.kind == "situation" and entry.text == "Substations on manual control."
    assert {f: getattr(entry, f) for f in ASSESSED} == ASSESSED


def test_board_form_offers_the_four_assessments_not_assessed_by_default(network, shared, login):
    page = login(network["people"]["de_liaison"]).get("/incidents/board/").content.decode()
    for field in ASSESSED:
        assert f'name="{field}"' in page
    assert '<option value="third_party_failure">Third-party failure</option>' in page
    assert '<option value="" selected>Not assessed</option>' in page


def test_incident_page_posts_a_situation_update_and_shows_its_assessment_as_labelled_badges(network, shared, login):
    client = login(network["people"]["de_analyst"])
    fields = {f"timeline-{f}": v for f, v in ASSESSED.items()}

    response = client.post(f"/incidents/{shared.pk}/timeline/", {
        "timeline-text": "Wiper contained", "timeline-kind": "situation", "timeline-tlp": "amber", **fields})

    assert response.status_code == 302
    entry = TimelineEntry.objects.get(incident=shared)
    assert {f: getattr(entry, f) for f in ASSESSED} == ASSESSED
    page = client.get(f"/incidents/{shared.pk}/").content.decode()
    for shown in ("Impact severity: Red — very large", "Outlook (next 6 hours): Worsening",
                  "Root cause: Malicious action", "Threat severity: High"):
        assert shown in page
    assert "malicious_action</" not in page  # the human label, not the code


def test_incident_page_refuses_an_assessment_on_a_plain_update_on_its_field(network, shared, login):
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{shared.pk}/timeline/", {
        "timeline-text": "Note", "timeline-kind": "update", "timeline-tlp": "amber", "timeline-root_cause": "human_error"})

    assert response.status_code == 400
    assert "Only a situation update carries" in " ".join(response.context["timeline_form"].errors["root_cause"])
    assert not TimelineEntry.objects.filter(incident=shared).exists()


# --- The board: latest situation assessment on the card, and filters ------------------------------


def test_board_card_shows_the_latest_situation_assessment_with_labels(network, shared, login):
    de = network["people"]["de_liaison"]
    _situation(de, shared, impact_severity="yellow", impact_outlook="stable")
    _situation(de, shared, impact_severity="green", root_cause="third_party_failure")
    services.add_timeline_entry(actor=de, incident=shared, text="A plain note after it")

    response = login(de).get("/incidents/board/")

    (row,) = [r for g in response.context["levels"] for r in g["rows"]]
    assert [(b["label"], b["display"]) for b in row["situation"]] == [
        ("Impact severity", "Green — minor"), ("Outlook (next 6 hours)", "Not assessed"),
        ("Root cause", "Third-party failure"), ("Threat severity", "Not assessed")]
    assert "Root cause: Third-party failure" in response.content.decode()


def test_board_filters_on_the_latest_situation_update_only(network, shared, login):
    de = network["people"]["de_liaison"]
    calm = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title="Calmer", aware_at=shared.aware_at, tlp="amber")
    services.share_incident(actor=network["people"]["de_analyst"], incident=calm,
                            organisations=[network["orgs"]["de-authority"]])
    _situation(de, calm, impact_severity="red")
    _situation(de, calm, impact_severity="green", impact_outlook="improving")  # red no more
    _situation(de, shared, impact_severity="red", impact_outlook="worsening")
    client = login(de)

    assert _card_ids(client.get("/incidents/board/")) == {shared.pk, calm.pk}
    assert _card_ids(client.get("/incidents/board/", {"impact": "red"})) == {shared.pk}
    assert _card_ids(client.get("/incidents/board/", {"outlook": "improving"})) == {calm.pk}
    assert _card_ids(client.get("/incidents/board/", {"impact": "red", "outlook": "improving"})) == set()
    # The parts board.js re-fetches take the same filters.
    part = client.get("/incidents/board/parts/", {"part": "levels", "impact": "red"})
    assert part.status_code == 200 and shared.title in part.content.decode() and calm.title not in part.content.decode()
    # The page hands its filters to board.js.
    assert 'data-board-filter="impact=red"' in client.get("/incidents/board/", {"impact": "red"}).content.decode()


@pytest.mark.parametrize("path,params", [("/incidents/board/", {}), ("/incidents/board/parts/", {"part": "levels"})])
def test_unknown_board_filter_value_is_a_400_naming_the_parameter_and_the_values(network, shared, login, path, params):
    client = login(network["people"]["de_liaison"])
    response = client.get(path, {**params, "threat": "extreme"})
    assert response.status_code == 400
    assert "Unknown threat 'extreme'; choose one of: high, medium, low." in html.unescape(response.content.decode())


def test_stricter_situation_update_of_another_organisation_does_not_reach_others_cards_or_filters(
        network, shared, login, enisa_officer):
    de = network["people"]["de_liaison"]
    _situation(de, shared, impact_severity="yellow")
    # DE's crisis authority labels its latest assessment TLP:RED: it stays within de-authority.
    _situation(de, shared, "Own source", tlp="red", impact_severity="red", threat_severity="high")
    enisa, de_client = login(enisa_officer), login(de)

    assert not timeline_visible_to(enisa_officer, shared).filter(impact_severity="red").exists()
    (row,) = [r for g in enisa.get("/incidents/board/").context["levels"] for r in g["rows"]]
    assert row["situation"][0]["display"] == "Yellow — large" and row["situation"][3]["display"] == "Not assessed"
    assert _card_ids(enisa.get("/incidents/board/", {"impact": "red"})) == set()
    assert _card_ids(enisa.get("/incidents/board/", {"impact": "yellow"})) == {shared.pk}
    levels = enisa.get("/incidents/board/parts/", {"part": "levels"}).content.decode()
    assert "Impact severity: Yellow — large" in levels and "Impact severity: Red — very large" not in levels
    # Its author's organisation reads it as the latest.
    assert _card_ids(de_client.get("/incidents/board/", {"impact": "red", "threat": "high"})) == {shared.pk}


# --- The API --------------------------------------------------------------------------------------


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def tools(network, token_for):
    return {code: Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs'][code])}")
            for code in ("de-csirt", "de-authority", "enisa")}


def test_api_round_trip_of_a_situation_assessment(shared, tools):
    url = f"/api/v1/incidents/{shared.pk}/timeline/"

    created = _post(tools["de-csirt"], url, {"text": "Contained", "kind": "situation", **ASSESSED})
    plain = _post(tools["de-csirt"], url, {"text": "A note"})

    assert created.status_code == 201, created.json()
    assert {f: created.json()[f] for f in ASSESSED} == ASSESSED
    listed = tools["enisa"].get(url).json()["results"]
    assert [{f: e[f] for f in ASSESSED} for e in listed] == [ASSESSED, dict.fromkeys(ASSESSED, "")]
    assert plain.status_code == 201


@pytest.mark.parametrize("body,field", [
    ({"text": "x", "kind": "situation", "impact_outlook": "sideways"}, "impact_outlook"),
    ({"text": "x", "kind": "update", "root_cause": "human_error"}, "root_cause"),
])
def test_api_refuses_a_bad_assessment_with_a_400_naming_the_field(shared, tools, body, field):
    response = _post(tools["de-csirt"], f"/api/v1/incidents/{shared.pk}/timeline/", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not TimelineEntry.objects.filter(incident=shared).exists()


def test_api_list_filters_on_the_latest_situation_update_the_caller_may_see(network, shared, tools):
    de = network["people"]["de_liaison"]
    _situation(de, shared, impact_severity="green", root_cause="human_error")
    _situation(de, shared, "Own source", tlp="red", impact_severity="red")  # de-authority's only

    def listed(client, **params):
        response = client.get("/api/v1/incidents/", params)
        assert response.status_code == 200, response.json()
        return [i["id"] for i in response.json()["results"]]

    assert listed(tools["enisa"], impact_severity="green") == [shared.pk]
    assert listed(tools["enisa"], impact_severity="green", root_cause="human_error") == [shared.pk]
    assert listed(tools["enisa"], impact_severity="red") == []
    assert listed(tools["de-authority"], impact_severity="red") == [shared.pk]
    assert listed(tools["de-authority"], impact_severity="green") == []  # no longer its latest
    bad = tools["enisa"].get("/api/v1/incidents/", {"threat_severity": "extreme"})
    assert bad.status_code == 400 and "high, medium, low" in " ".join(bad.json()["error"]["fields"]["threat_severity"])


# --- STIX -----------------------------------------------------------------------------------------


def test_stix_export_carries_each_visible_situation_assessment_and_stays_valid(network, shared, login, enisa_officer):
    de = network["people"]["de_liaison"]
    first = _situation(de, shared, "Grid stable", impact_severity="yellow", impact_outlook="stable")
    _situation(de, shared, "Own source", tlp="red", **ASSESSED)  # de-authority's only
    services.add_timeline_entry(actor=de, incident=shared, text="A plain note")

    response = login(enisa_officer).get(f"/incidents/{shared.pk}/stix/")

    bundle = stix2.parse(response.content.decode(), allow_custom=False)  # the x_csoa_ properties are declared
    (note,) = [o for o in bundle.objects if o.type == "note"]
    assert note.content == "Grid stable" and note.object_refs == [next(o.id for o in bundle.objects
                                                                       if o.type == "incident")]
    assert (note.x_csoa_impact_severity, note.x_csoa_impact_outlook) == ("yellow", "stable")
    assert "x_csoa_root_cause" not in note  # not assessed
    assert note.object_marking_refs == ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]  # its own TLP
    author = next(o for o in bundle.objects if o.id == note.created_by_ref)
    assert author.name == "BSI crisis management"
    (definition,) = [o for o in bundle.objects if o.type == "extension-definition"]
    assert note.extensions[definition.id]["extension_type"] == "toplevel-property-extension"
    assert "Own source" not in response.content.decode()
    first.refresh_from_db()
    assert note.id == f"note--{first.stix_id}"  # drawn once and stored, so every export gives this id


def test_stix_export_marks_a_stricter_situation_update_with_its_own_label_for_its_organisation(network, shared):
    de = network["people"]["de_liaison"]
    _situation(de, shared, "Own source", tlp="red", impact_severity="red")

    bundle = bundle_for(shared, shared.observables.none(), timeline_visible_to(de, shared))

    parsed = stix2.parse(json.loads(serialize(bundle)), allow_custom=False)
    (note,) = [o for o in parsed.objects if o.type == "note"]
    assert note.x_csoa_impact_severity == "red"
    assert note.object_marking_refs == ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]  # TLP:RED
    assert {o.name for o in parsed.objects if o.type == "marking-definition"} == {"TLP:AMBER", "TLP:RED"}


# --- Existing situation updates ---------------------------------------------------------------------


def test_migration_reads_the_folded_assessment_back_without_rewriting_the_text(network, incident):
    folded = "Impact severity: Yellow — large · Outlook (next 6 hours): Improving\nSubstations on manual control."
    entry = _situation(network["people"]["de_analyst"], incident, folded)
    untouched = _situation(network["people"]["de_analyst"], incident, "Impact severity: unknown yet")

    importlib.import_module("incidents.migrations.0010_situation_taxonomy").unfold(apps, None)

    entry.refresh_from_db()
    untouched.refresh_from_db()
    assert (entry.impact_severity, entry.impact_outlook, entry.text) == ("yellow", "improving", folded)
    assert (untouched.impact_severity, untouched.impact_outlook) == ("", "")
