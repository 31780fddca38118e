"""The STIX 2.1 export parses, carries the official TLP 2.0 markings and every observable.

Validation by the OASIS validator, and the ids, are in test_stix_validator.py."""

import json

import pytest
import stix2

from incidents import services
from incidents.stix import TLP2_IDS, bundle_for, serialize


@pytest.mark.parametrize("label", ["clear", "green", "amber", "amber+strict", "red"])
def test_bundle_parses_and_carries_the_incidents_tlp_marking(network, incident, label):
    incident.tlp = label
    incident.save(update_fields=["tlp"])
    services.add_observables(actor=network["people"]["de_analyst"], incident=incident, rows=[
        {"type": t, "value": v} for t, v in [
            ("ipv4", "192.0.2.1"), ("ipv6", "2001:db8::1"), ("cidr", "198.51.100.0/24"), ("domain", "evil.example"),
            ("url", "https://evil.example/it's"), ("email", "x@evil.example"), ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
            ("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            ("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("asn", "AS64512"), ("cve", "CVE-2024-3400"),
        ]
    ])
    bundle = bundle_for(incident, incident.observables.all())
    parsed = stix2.parse(json.loads(serialize(bundle)), allow_custom=False)
    by_type = {}
    for obj in parsed.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert len(by_type["indicator"]) == 10 and len(by_type["relationship"]) == 11
    (cve,) = by_type["vulnerability"]  # a CVE is no cyber observable: no indicator pattern names it
    assert cve.name == "CVE-2024-3400" and cve.external_references[0].external_id == "CVE-2024-3400"
    (stix_incident,) = by_type["incident"]
    assert stix_incident.object_marking_refs == [TLP2_IDS[label]]
    (marking,) = by_type["marking-definition"]
    assert marking.id == TLP2_IDS[label] and marking.name == f"TLP:{label.upper()}"
    assert all(o.object_marking_refs == [TLP2_IDS[label]] for o in by_type["indicator"] + by_type["vulnerability"])
    assert by_type["identity"][0].name == "CERT-Bund"


def test_reexport_gives_the_same_ids(network, incident):
    first = json.loads(serialize(bundle_for(incident, incident.observables.none())))
    second = json.loads(serialize(bundle_for(incident, incident.observables.none())))
    assert [o["id"] for o in first["objects"]] == [o["id"] for o in second["objects"]]


def test_indicators_written_as_dicts_match_what_stix2_builds(network, incident):
    services.add_observables(actor=network["people"]["de_analyst"], incident=incident, rows=[
        {"type": "domain", "value": "c2.example", "note": "Beacon target", "first_seen": "2026-01-02T03:04:05Z"},
        {"type": "cve", "value": "CVE-2024-3400"},
    ])
    bundle = bundle_for(incident, incident.observables.all())
    written = {o["type"]: o for o in bundle["objects"] if o["type"] in ("indicator", "vulnerability", "relationship")}
    indicator = written["indicator"]
    built = stix2.Indicator(**{k: v for k, v in indicator.items() if k != "type"})
    same_instant = {"valid_from": built.valid_from.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    assert {**json.loads(built.serialize()), **same_instant} == indicator
    assert indicator["description"] == "Beacon target" and indicator["valid_from"] == "2026-01-02T03:04:05.000Z"
    for kind, cls in [("vulnerability", stix2.Vulnerability), ("relationship", stix2.Relationship)]:
        assert json.loads(cls(**{k: v for k, v in written[kind].items() if k != "type"}).serialize()) == written[kind]
    assert written["vulnerability"]["description"] == f"CVE-2024-3400, recorded in incident {incident.reference}."
