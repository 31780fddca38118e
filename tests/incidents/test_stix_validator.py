"""The STIX 2.1 export passes the OASIS validator (``stix2-validator --strict``): no error, no warning.

For every TLP label and every observable type the portal accepts, with a situation update; its
ids are UUIDv4s drawn once, so two exports agree; and a reader gets only what they may see.
"""

import importlib
import json
import uuid
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from stix2validator import ValidationOptions, validate_string

from incidents import services
from incidents.models import Incident, Observable, StixIdentity, TimelineEntry
from incidents.observables import ObservableType

LABELS = ["clear", "green", "amber", "amber+strict", "red"]
EVERY_TYPE = {
    "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "cidr": "198.51.100.0/24", "domain": "evil.example",
    "url": "https://evil.example/it's", "email": "x@evil.example", "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "sha1": "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "asn": "AS64512", "cve": "CVE-2024-3400",
}
ASSESSED = {"impact_severity": "red", "impact_outlook": "worsening", "root_cause": "malicious_action",
            "threat_severity": "high"}


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_strictly_valid(body: str) -> None:
    """``stix2-validator --strict`` finds nothing in the bundle; else every error and warning is printed."""
    result = validate_string(body, ValidationOptions(strict=True))
    findings = [f"error: {e}" for e in result.errors] + [f"warning: {w}" for w in result.warnings]
    assert result.is_valid and not findings, "\n".join(findings)


def _fill(network, incident: Incident) -> None:
    analyst = network["people"]["de_analyst"]
    services.add_observables(actor=analyst, incident=incident, rows=[
        {"type": t, "value": v, "note": "Seen beaconing" if t == "domain" else ""} for t, v in EVERY_TYPE.items()])
    services.add_timeline_entry(actor=analyst, incident=incident, text="Grid on manual control.", kind="situation",
                                **ASSESSED)


@pytest.fixture
def de_tool(network, token_for):
    return bearer(token_for(network["orgs"]["de-csirt"], "read"))


def _export(client, incident: Incident) -> str:
    response = client.get(f"/api/v1/incidents/{incident.pk}/stix/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_sample_covers_every_observable_type_the_portal_accepts():
    assert set(EVERY_TYPE) == set(ObservableType.values)


@pytest.mark.parametrize("label", LABELS)
def test_api_export_passes_the_strict_oasis_validator_for_every_label_and_observable_type(network, incident, de_tool,
                                                                                         label):
    incident.tlp = label
    incident.save(update_fields=["tlp"])
    _fill(network, incident)

    body = _export(de_tool, incident)

    assert_strictly_valid(body)
    types = [o["type"] for o in json.loads(body)["objects"]]
    assert (types.count("indicator"), types.count("vulnerability"), types.count("note")) == (10, 1, 1)
    assert types.count("relationship") == 11


def test_page_download_passes_the_strict_oasis_validator(network, incident, login):
    _fill(network, incident)

    response = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/stix/")

    assert response.status_code == 200
    assert_strictly_valid(response.content.decode())


def test_observables_relate_to_the_incident_with_a_name_and_a_description(network, incident):
    from incidents.stix import bundle_for

    _fill(network, incident)

    objects = bundle_for(incident, incident.observables.all())["objects"]

    stix_incident = next(o for o in objects if o["type"] == "incident")
    relationships = [o for o in objects if o["type"] == "relationship"]
    assert {(r["relationship_type"], r["target_ref"]) for r in relationships} == {("related-to", stix_incident["id"])}
    indicators = {o["name"]: o["description"] for o in objects if o["type"] == "indicator"}
    assert indicators["Domain name evil.example"] == "Seen beaconing"  # the analyst's note
    assert indicators["IPv4 address 192.0.2.1"] == f"IPv4 address seen in incident {incident.reference}: 192.0.2.1"


def test_ids_are_stored_uuid4s_and_the_same_in_every_export(network, incident, de_tool):
    _fill(network, incident)

    first = json.loads(_export(de_tool, incident))
    services.add_observables(actor=network["people"]["de_analyst"], incident=incident,
                             rows=[{"type": "ipv4", "value": "192.0.2.99"}])
    second = json.loads(_export(de_tool, incident))

    first_ids = [o["id"] for o in first["objects"]]
    second_ids = [o["id"] for o in second["objects"]]
    assert set(first_ids) <= set(second_ids) and len(second_ids) == len(first_ids) + 2  # the new one and its link
    assert all(uuid.UUID(i.split("--")[1]).version == 4 for i in second_ids)
    assert len(set(second_ids)) == len(second_ids)
    entry = TimelineEntry.objects.get(incident=incident, kind="situation")
    observable = incident.observables.get(value="192.0.2.1")
    identity = StixIdentity.objects.get(organisation=network["orgs"]["de-csirt"])
    assert {f"incident--{incident.stix_id}", f"note--{entry.stix_id}", f"indicator--{observable.stix_id}",
            f"relationship--{observable.stix_relationship_id}", f"identity--{identity.stix_id}"} <= set(first_ids)
    assert StixIdentity.objects.count() == 1  # drawn once for the organisation, not once per export


def test_a_reader_gets_only_what_they_may_see_and_it_still_validates(network, incident, token_for):
    de = network["people"]["de_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    _fill(network, incident)
    services.add_observables(actor=de, incident=incident, rows=[{"type": "domain", "value": "own-source.example",
                                                                 "tlp": "red"}])
    services.add_timeline_entry(actor=de, incident=incident, text="Own source says", kind="situation", tlp="red")
    fr = bearer(token_for(network["orgs"]["fr-csirt"], "read"))

    fr_body = _export(fr, incident)
    de_body = _export(bearer(token_for(network["orgs"]["de-csirt"], "read")), incident)

    assert_strictly_valid(fr_body)
    assert_strictly_valid(de_body)
    assert "own-source.example" not in fr_body and "Own source says" not in fr_body and "TLP:RED" not in fr_body
    assert "own-source.example" in de_body and "Own source says" in de_body and "TLP:RED" in de_body


def test_migration_gives_existing_rows_distinct_uuid4s(network, incident):
    _fill(network, incident)
    before = set(Observable.objects.values_list("stix_id", flat=True))
    from django.apps import apps

    importlib.import_module("incidents.migrations.0011_stix_ids").fill(apps, SimpleNamespace(connection=connection))

    drawn = [*Incident.objects.values_list("stix_id", flat=True), *TimelineEntry.objects.values_list("stix_id", flat=True),
             *Observable.objects.values_list("stix_id", flat=True),
             *Observable.objects.values_list("stix_relationship_id", flat=True)]
    assert len(drawn) == Incident.objects.count() + TimelineEntry.objects.count() + 2 * Observable.objects.count()
    assert len(set(drawn)) == len(drawn)
    assert all(value.version == 4 for value in drawn)
    assert not before & set(drawn)  # redrawn, not kept
