"""Import of a STIX 2.1 bundle into an incident: OASIS-validated first, simple patterns only, all or nothing.

The round trip goes through the portal's own export (``incidents.stix.bundle_for``): every
observable type and every TLP label, with tags, comes back the same in another incident.
"""

import json

import pytest
import stix2

from incidents import services
from incidents.imports import MAX_STIX_OBJECTS
from incidents.stix import TLP2_IDS, bundle_for, serialize, tlp_marking

from .test_stix_validator import EVERY_TYPE, assert_strictly_valid

WHEN = "2026-11-20T08:00:00Z"


def indicator(pattern: str, *, tlp: str | None = None, **extra) -> stix2.Indicator:
    markings = {"object_marking_refs": [TLP2_IDS[tlp]]} if tlp else {}
    return stix2.Indicator(pattern=pattern, pattern_type="stix", valid_from=WHEN, **markings, **extra)


def bundle(*objects, tlp: str | None = "amber") -> bytes:
    """A bundle as another tool writes it: a report (MISP's event) marked ``tlp`` holding the objects."""
    extra = []
    labels = {tlp} | {ref for o in objects for ref in getattr(o, "object_marking_refs", [])}
    markings = [tlp_marking(label) for label in TLP2_IDS if label in labels or TLP2_IDS[label] in labels]
    if tlp:
        extra.append(stix2.Report(name="Phishing wave", published=WHEN, object_refs=[o.id for o in objects] or
                                  ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"],
                                  object_marking_refs=[TLP2_IDS[tlp]]))
    return stix2.Bundle(objects=[*markings, *objects, *extra]).serialize().encode()


def upload(network, incident, content, *, who="de_analyst", format="stix"):
    if isinstance(content, dict):
        content = json.dumps(content).encode()
    return services.import_file(actor=network["people"][who], incident=incident, content=content, format=format)


def observables(incident) -> dict[str, tuple]:
    return {o.value: (o.type, o.tlp, sorted(t.name for t in o.tags.all())) for o in incident.observables.all()}


def test_simple_indicators_and_a_cve_become_observables(network, incident):
    cve = stix2.Vulnerability(name="CVE-2024-3400", external_references=[{"source_name": "cve",
                                                                          "external_id": "CVE-2024-3400"}])
    content = bundle(indicator("[ipv4-addr:value = '192.0.2.1']", description="C2"),
                     indicator("[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']"),
                     indicator("[autonomous-system:number = 64512]", labels=["bulletproof hosting"]), cve)
    report = upload(network, incident, content)
    assert report.imported and report.created == 4
    assert observables(incident) == {
        "192.0.2.1": ("ipv4", "amber", []), EVERY_TYPE["sha256"]: ("sha256", "amber", []),
        "AS64512": ("asn", "amber", ["bulletproof hosting"]), "CVE-2024-3400": ("cve", "amber", []),
    }
    assert incident.observables.get(value="192.0.2.1").note == "C2"
    assert any("1 report" in note for note in report.notes)  # what is not imported is said, not dropped


def test_a_red_indicator_in_an_amber_bundle_stays_red_and_a_green_one_is_raised(network, incident):
    content = bundle(indicator("[domain-name:value = 'red.example']", tlp="red"),
                     indicator("[domain-name:value = 'green.example']", tlp="green"),
                     indicator("[domain-name:value = 'plain.example']"), tlp="amber")
    report = upload(network, incident, content)
    assert {v: tlp for v, (_, tlp, _) in observables(incident).items()} == {
        "red.example": "red", "green.example": "amber", "plain.example": "amber"}
    assert "stricter and kept" in report.items[1].notes[0]


def test_stix_2_0_tlp_markings_are_read_too(network, incident):
    incident.tlp = "clear"
    incident.save(update_fields=["tlp"])
    red = stix2.Indicator(pattern="[url:value = 'https://evil.example/']", pattern_type="stix", valid_from=WHEN,
                          object_marking_refs=[stix2.TLP_RED.id])
    content = stix2.Bundle(objects=[stix2.TLP_RED, red]).serialize().encode()
    report = upload(network, incident, content)
    assert report.imported and observables(incident)["https://evil.example/"][1] == "red"


@pytest.mark.parametrize("pattern, problem", [
    ("[ipv4-addr:value = '192.0.2.1'] OR [ipv4-addr:value = '192.0.2.2']", "not importable"),
    ("[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']", "not importable"),
    ("[domain-name:value = 'a.example'] WITHIN 60 SECONDS", "not importable"),
    ("[domain-name:value LIKE '%.example']", "not importable"),
    ("[process:name = 'evil.exe']", "no observable type for process:name"),
    ("[ipv4-addr:value = '999.0.0.1']", "is not an IPv4 address"),
])
def test_an_indicator_the_portal_cannot_take_is_named_and_nothing_is_imported(network, incident, pattern, problem):
    report = upload(network, incident, bundle(indicator("[domain-name:value = 'fine.example']"), indicator(pattern)))
    assert not report.imported and incident.observables.count() == 0
    assert [i.outcome for i in report.items] == ["import", "error"]
    assert problem in report.items[1].reason and report.items[1].source == pattern


def test_other_pattern_languages_and_a_vulnerability_without_cve_are_errors(network, incident):
    sigma = stix2.Indicator(pattern="title: x", pattern_type="sigma", valid_from=WHEN)
    vulnerability = stix2.Vulnerability(name="Unnamed bug")
    report = upload(network, incident, bundle(sigma, vulnerability))
    assert not report.imported and [i.outcome for i in report.items] == ["error", "error"]
    assert "'sigma' pattern" in report.items[0].reason and "without a cve" in report.items[1].reason


def test_the_oasis_validator_runs_first_and_its_errors_are_reported(network, incident):
    document = json.loads(bundle(indicator("[domain-name:value = 'fine.example']")))
    broken = next(o for o in document["objects"] if o["type"] == "indicator")
    broken["pattern"] = "[domain-name:value = 'unclosed"
    del broken["valid_from"]
    report = upload(network, incident, document)
    assert not report.imported and incident.observables.count() == 0 and report.items == []
    assert report.errors and all(e.startswith("STIX validator:") for e in report.errors)
    assert "valid_from" in " ".join(report.errors)


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not JSON"),
    (b"[]", "a JSON list"),
    (b'{"type": "indicator"}', "Not a STIX 2.1 bundle"),
    (b'{"type": "bundle", "id": "bundle--1", "objects": {}}', "objects: expected a list, got an object"),
    (b'{"type": "bundle", "id": "bundle--1", "objects": [5]}', "objects[0]: expected an object, got a number"),
    (b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": 5, "id": "x"}]}', "objects[0].type: expected text"),
    (b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator", "id": "x", '
     b'"object_marking_refs": "tlp"}]}', "object_marking_refs: expected a list"),
    (b'{"Event": {"info": "x"}}', "MISP event, not a STIX bundle"),
])
def test_a_file_that_is_not_a_bundle_is_refused_naming_the_problem(network, incident, content, problem):
    report = upload(network, incident, content)
    assert not report.imported and problem in " ".join(report.errors), report.errors


def test_a_bundle_over_the_object_limit_is_refused_before_validation(network, incident):
    objects = [{"type": "indicator", "id": f"indicator--{i}"} for i in range(MAX_STIX_OBJECTS + 1)]
    report = upload(network, incident, {"type": "bundle", "id": "bundle--1", "objects": objects})
    assert f"{MAX_STIX_OBJECTS + 1:,} objects" in report.errors[0] and incident.observables.count() == 0


def test_the_format_is_recognised_when_not_given(network, incident):
    report = upload(network, incident, bundle(indicator("[email-addr:value = 'x@evil.example']")), format=None)
    assert report.format == "stix" and report.imported


TAGS = {"ipv4": ['rsit:malicious-code="c2-server"'], "domain": ["phishing", "rsit:fraud"], "cve": ["patch-now"]}
LABELS = ["clear", "green", "amber", "amber+strict", "red"]


def test_round_trip_through_the_portals_own_export(network, incident):
    """Every observable type, every TLP label and the tags survive export → import into another incident."""
    analyst = network["people"]["de_analyst"]
    incident.tlp = "clear"
    incident.save(update_fields=["tlp"])
    for n, (kind, value) in enumerate(EVERY_TYPE.items()):
        services.add_observable(actor=analyst, incident=incident, type=kind, value=value, tlp=LABELS[n % 5],
                                tags=TAGS.get(kind, []))
    exported = serialize(bundle_for(incident, incident.observables.all()))
    assert_strictly_valid(exported)  # the labels carrying the tags keep the export valid
    other = services.report_incident(actor=analyst, organisation=network["orgs"]["de-csirt"], title="Same actor",
                                     aware_at=incident.aware_at, tlp="clear", severity="medium")
    report = upload(network, other, exported.encode())
    assert report.imported, [(i.index, i.reason) for i in report.items if i.reason]
    assert observables(other) == observables(incident)
    assert len(observables(other)) == len(EVERY_TYPE)
