"""The MISP export: a valid MISP event for every TLP label and observable type, tagged with the taxonomies
MISP knows, stable ids, and only what the reader may see (the same selectors as the STIX export)."""

import importlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from incidents import misp, services
from incidents.misp_types import ATTRIBUTE_OF
from incidents.models import Incident, IncidentCategory, Sector
from incidents.observables import ObservableType
from tests.incidents.misp_support import assert_valid_misp, attribute_values, tag_names

LABELS = ["clear", "green", "amber", "amber+strict", "red"]
EVERY_TYPE = {
    "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "cidr": "198.51.100.0/24", "domain": "evil.example",
    "url": "https://evil.example/it's", "email": "x@evil.example", "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "asn": "AS64512", "cve": "CVE-2024-3400",
}
EXPECTED = {  # portal type -> (MISP type, category, to_ids, in a file object)
    "ipv4": ("ip-dst", "Network activity", True, False), "ipv6": ("ip-dst", "Network activity", True, False),
    "cidr": ("ip-dst", "Network activity", True, False), "domain": ("domain", "Network activity", True, False),
    "url": ("url", "Network activity", True, False), "email": ("email-src", "Payload delivery", True, False),
    "md5": ("md5", "Payload delivery", True, True), "sha1": ("sha1", "Payload delivery", True, True),
    "sha256": ("sha256", "Payload delivery", True, True), "asn": ("AS", "Network activity", False, False),
    "cve": ("vulnerability", "External analysis", False, False),
}


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def _export(client, incident) -> dict:
    response = client.get(f"/api/v1/incidents/{incident.pk}/misp/")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{incident.reference}.misp.json"'
    return response.json()


@pytest.fixture
def de_tool(network, token_for):
    return bearer(token_for(network["orgs"]["de-csirt"], "read"))


def test_the_sample_covers_every_observable_type_the_portal_accepts():
    assert set(EVERY_TYPE) == set(EXPECTED) == set(ObservableType.values) == set(ATTRIBUTE_OF)


@pytest.mark.parametrize("label", LABELS)
def test_every_label_and_observable_type_gives_a_valid_misp_event(network, incident, de_tool, label):
    de = network["people"]["de_analyst"]
    services.update_incident(actor=de, incident=incident, tlp=label)
    services.add_observables(actor=de, incident=incident, rows=[
        {"type": t, "value": v, "note": "Seen beaconing" if t == "domain" else "",
         "first_seen": "2026-01-02T03:04:05Z", "last_seen": "2026-01-03T00:00:00Z"} for t, v in EVERY_TYPE.items()])

    document = _export(de_tool, incident)
    loaded = assert_valid_misp(document)

    event = document["Event"]
    distribution = {"clear": "3", "green": "1", "amber": "1", "amber+strict": "0", "red": "0"}[label]
    assert event["info"] == "Ransomware at a DSO" and event["threat_level_id"] == "1" and event["analysis"] == "1"
    assert event["distribution"] == distribution and event["Orgc"]["name"] == "CERT-Bund"
    assert tag_names(event)[0] == f"tlp:{label}"
    attributes = attribute_values(document)
    assert set(attributes) == set(EVERY_TYPE.values())
    in_objects = {a["value"] for obj in event["Object"] for a in obj["Attribute"]}
    assert {obj["name"] for obj in event["Object"]} == {"file"}
    for portal_type, value in EVERY_TYPE.items():
        misp_type, category, to_ids, in_file = EXPECTED[portal_type]
        attribute = attributes[value]
        assert (attribute["type"], attribute["category"], attribute["to_ids"]) == (misp_type, category, to_ids)
        assert (value in in_objects) is in_file
        assert tag_names(attribute) == [f"tlp:{label}"] and attribute["distribution"] == distribution
        assert attribute["first_seen"].startswith("2026-01-02T03:04:05")
        assert attribute["last_seen"].startswith("2026-01-03T00:00:00")
    assert attributes["evil.example"]["comment"] == "Seen beaconing"
    assert len(loaded.attributes) == 8 and len(loaded.objects) == 3


def test_tags_come_from_the_rsit_and_nis_taxonomies_and_the_incidents_own(network, incident, de_tool):
    de = network["people"]["de_analyst"]
    services.update_incident(actor=de, incident=incident, category=IncidentCategory.objects.get(code="fraud/phishing"),
                             sectors=[Sector.objects.get(code="energy.electricity"),
                                      Sector.objects.get(code="digital-infrastructure.trust-services")],
                             tags=["ransomware", 'rsit:malicious-code="infected-system"'])
    services.add_timeline_entry(actor=de, incident=incident, text="First view", kind="situation",
                                impact_severity="yellow", root_cause="human_error")
    services.add_timeline_entry(actor=de, incident=incident, text="Worse", kind="situation",
                                impact_severity="red", impact_outlook="worsening")

    tags = tag_names(_export(de_tool, incident)["Event"])

    assert tags == [
        "tlp:amber", 'rsit:fraud="phishing"', 'nis:impact-sectors-impacted="trust-and-identification-services"',
        'nis:impact-sectors-impacted="energy"',
        'nis:impact-severity="red"', 'nis:impact-outlook="worsening"', 'nis:nature-root-cause="human-errors"',
        "ransomware", 'rsit:malicious-code="infected-system"',
    ]


def test_an_observables_tags_and_tlp_ride_on_its_attribute(network, incident, de_tool):
    de = network["people"]["de_analyst"]
    observable = services.add_observable(actor=de, incident=incident, type="domain", value="c2.example",
                                         tlp="amber+strict", tags=["c2", 'rsit:malicious-code="c2-server"'])

    attribute = attribute_values(_export(de_tool, incident))[observable.value]

    assert tag_names(attribute) == ["tlp:amber+strict", "c2", 'rsit:malicious-code="c2-server"']
    assert attribute["distribution"] == "0"


def test_ids_are_stable_and_the_timestamp_moves_with_the_incident(network, incident, de_tool):
    de = network["people"]["de_analyst"]
    services.add_observables(actor=de, incident=incident, rows=[{"type": "domain", "value": "c2.example"},
                                                                {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}])
    first = _export(de_tool, incident)
    again = _export(de_tool, incident)
    with freeze_time(timezone.now() + timedelta(minutes=5)):
        services.add_observable(actor=de, incident=incident, type="ipv4", value="192.0.2.7")
    later = _export(de_tool, incident)

    def ids(document):
        event = document["Event"]
        return [event["uuid"], *(a["uuid"] for a in event["Attribute"]),
                *(o["uuid"] for o in event["Object"]), *(a["uuid"] for o in event["Object"] for a in o["Attribute"])]

    incident.refresh_from_db()
    assert first == again
    assert first["Event"]["uuid"] == str(incident.misp_uuid) != str(incident.stix_id)
    assert set(ids(first)) < set(ids(later))
    # Whole seconds: the five minutes, plus one when a second ticked between the two changes.
    assert 300 <= int(later["Event"]["timestamp"]) - int(first["Event"]["timestamp"]) <= 301
    stix_ids = {str(o.stix_id) for o in incident.observables.all()}
    assert not stix_ids & set(ids(later)), "a MISP uuid never repeats a STIX id"


def test_a_reader_gets_only_the_observables_and_assessments_their_tlp_allows(network, incident, token_for):
    de = network["people"]["de_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    services.add_observables(actor=de, incident=incident, rows=[
        {"type": "domain", "value": "shared.example"}, {"type": "domain", "value": "own-source.example", "tlp": "red"},
        {"type": "sha256", "value": "a" * 64, "tlp": "red"}])
    services.add_timeline_entry(actor=de, incident=incident, text="Own source", kind="situation", tlp="red",
                                root_cause="malicious_action")

    fr = _export(bearer(token_for(network["orgs"]["fr-csirt"], "read")), incident)
    de_doc = _export(bearer(token_for(network["orgs"]["de-csirt"], "read")), incident)

    assert_valid_misp(fr)
    assert set(attribute_values(fr)) == {"shared.example"} and "Object" not in fr["Event"]
    assert 'nis:nature-root-cause="malicious-actions"' not in tag_names(fr["Event"])
    assert set(attribute_values(de_doc)) == {"shared.example", "own-source.example", "a" * 64}
    assert 'nis:nature-root-cause="malicious-actions"' in tag_names(de_doc["Event"])


def test_an_invisible_incident_is_not_found_on_the_api_and_the_page(network, incident, token_for, login):
    pt_tool = bearer(token_for(network["orgs"]["pt-csirt"], "read"))
    pt_page = login(network["people"]["pt_analyst"])

    assert pt_tool.get(f"/api/v1/incidents/{incident.pk}/misp/").status_code == 404
    assert pt_tool.get("/api/v1/incidents/987654321/misp/").status_code == 404
    assert pt_page.get(f"/incidents/{incident.pk}/misp/").status_code == 404


def test_the_page_offers_the_download_next_to_stix_and_it_is_the_same_event(network, incident, login, de_tool):
    de = network["people"]["de_analyst"]
    services.add_observables(actor=de, incident=incident, rows=[{"type": "url", "value": "https://evil.example/x"}])
    page = login(de)

    detail = page.get(f"/incidents/{incident.pk}/").content.decode()
    response = page.get(f"/incidents/{incident.pk}/misp/")

    assert f'href="/incidents/{incident.pk}/misp/" download>Download MISP event' in detail
    assert detail.index("Download STIX 2.1") < detail.index("Download MISP event")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{incident.reference}.misp.json"'
    assert assert_valid_misp(response.json()) and response.json() == _export(de_tool, incident)


def test_latest_assessment_takes_each_field_from_the_newest_update_that_assessed_it():
    rows = [("red", "", "", ""), ("yellow", "stable", "", ""), ("", "improving", "human_error", "")]

    assert misp.latest_assessment(rows) == {"impact_severity": "red", "impact_outlook": "stable",
                                            "root_cause": "human_error"}
    assert misp.latest_assessment([]) == {}


def test_event_head_maps_severity_status_and_tlp(network):
    head = misp.event_head(
        misp_uuid="5f0c8a435a7e4d0b9b532f6f1c3e9a71", title="T", aware_at=timezone.now(), severity="low",
        status="closed", tlp="clear", updated_at=timezone.now(), orgc_name="O", orgc_uuid="u", category_code=None,
        sector_codes=["research"], assessment={}, tag_names=["tlp:red", "x"])

    assert (head.uuid, head.threat_level_id, head.analysis, head.distribution) == (
        "5f0c8a43-5a7e-4d0b-9b53-2f6f1c3e9a71", 3, 2, 3)
    assert head.tags == ("tlp:clear", "x")  # research is no nis sector; a stored tlp: tag never doubles the label


def test_migration_gives_existing_incidents_distinct_misp_uuids(network, incident):
    from django.apps import apps

    services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                             title="Second", aware_at=timezone.now(), tlp="green")
    before = set(Incident.objects.values_list("misp_uuid", flat=True))

    importlib.import_module("incidents.migrations.0015_misp_ids").fill(apps, SimpleNamespace(connection=connection))

    drawn = list(Incident.objects.values_list("misp_uuid", flat=True))
    assert len(set(drawn)) == len(drawn) == 2 and not before & set(drawn)
