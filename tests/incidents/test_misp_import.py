"""Import of a MISP event into an incident: types mapped, TLP never less strict than the event's, all or nothing.

Every attribute gets a line of the report (its position, uuid, MISP type and outcome); a file that
is not a MISP event, or is hostile (huge, deep, too many attributes, wrong JSON types), is refused
as a whole naming the problem; if any attribute fails, no observable is added.
"""

import json

import pytest
from django.core.exceptions import PermissionDenied
from pymisp import MISPEvent, MISPObject

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.imports import MAX_IMPORT_BYTES, MAX_ITEMS, MAX_STRING
from liaison.models import Event

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def misp_event(*attributes, tags=("tlp:amber",), hashes=None) -> MISPEvent:
    """An event built by PyMISP as a MISP instance would export it: (type, value, tags) attributes and a file object."""
    event = MISPEvent()
    event.info = "Phishing wave against DSOs"
    for tag in tags:
        event.add_tag(tag)
    for misp_type, value, attribute_tags in attributes:
        attribute = event.add_attribute(misp_type, value, comment=f"seen {value}")
        for tag in attribute_tags:
            attribute.add_tag(tag)
    if hashes:
        file_object = MISPObject("file")
        for relation, value in hashes.items():
            file_object.add_attribute(relation, value=value)
        event.add_object(file_object)
    return event


def upload(network, incident, content, *, who="de_analyst", format="misp"):
    if isinstance(content, MISPEvent):
        content = content.to_json()
    if not isinstance(content, bytes):
        content = content.encode() if isinstance(content, str) else json.dumps(content).encode()
    return services.import_file(actor=network["people"][who], incident=incident, content=content, format=format)


def observables(incident) -> dict[str, tuple]:
    return {o.value: (o.type, o.tlp, sorted(t.name for t in o.tags.all())) for o in incident.observables.all()}


def test_attributes_and_file_object_hashes_become_observables(network, incident):
    event = misp_event(("ip-dst", "192.0.2.10", []), ("domain", "Evil.Example.", []), ("url", "hxxp://evil[.]example/x", []),
                       hashes={"md5": MD5, "sha256": SHA256})
    report = upload(network, incident, event)
    assert report.imported and report.created == 5 and not report.failed
    assert observables(incident) == {
        "192.0.2.10": ("ipv4", "amber", []), "evil.example": ("domain", "amber", []),
        "http://evil.example/x": ("url", "amber", []), MD5: ("md5", "amber", []), SHA256: ("sha256", "amber", []),
    }
    assert [i.source for i in report.items][-2:] == ["file object: md5", "file object: sha256"]
    assert incident.observables.get(value="192.0.2.10").note == "seen 192.0.2.10"


def test_a_bare_event_without_the_event_wrapper_is_read_too(network, incident):
    bare = json.loads(misp_event(("ip-src", "198.51.100.7", [])).to_json())
    report = upload(network, incident, bare)
    assert report.imported and list(observables(incident)) == ["198.51.100.7"]


def test_a_tlp_red_attribute_in_an_amber_event_stays_red(network, incident):
    event = misp_event(("ip-dst", "192.0.2.1", ["tlp:red"]), ("ip-dst", "192.0.2.2", ["tlp:green"]),
                       ("ip-dst", "192.0.2.3", []), tags=("tlp:amber",))
    report = upload(network, incident, event)
    assert report.imported
    assert {v: tlp for v, (_, tlp, _) in observables(incident).items()} == {
        "192.0.2.1": "red", "192.0.2.2": "amber", "192.0.2.3": "amber"}
    # The one whose own tag was laxer says why it is AMBER.
    assert "stricter and kept" in " ".join(report.items[1].notes)


def test_an_event_without_a_tlp_tag_takes_the_incidents_label(network, incident):
    report = upload(network, incident, misp_event(("domain", "c2.example", []), tags=()))
    assert report.imported and observables(incident)["c2.example"][1] == incident.tlp == "amber"
    assert any("no tlp: tag" in note for note in report.notes)


def test_a_laxer_event_is_raised_to_the_incidents_label_and_says_so(network, incident):
    report = upload(network, incident, misp_event(("domain", "c2.example", []), tags=("tlp:clear",)))
    assert observables(incident)["c2.example"][1] == "amber"
    assert "raised to the incident's TLP:AMBER" in report.items[0].notes[0]


def test_tags_of_the_portals_vocabularies_are_kept_others_named_in_the_report(network, incident):
    event = misp_event(("domain", "c2.example", ['rsit:malicious-code="c2-server"', "Wiper",
                                                 'misp-galaxy:threat-actor="Sofacy"', "rsit:made-up"]))
    report = upload(network, incident, event)
    assert report.imported
    assert observables(incident)["c2.example"][2] == ['rsit:malicious-code="c2-server"', "wiper"]
    notes = " ".join(report.items[0].notes)
    assert "misp-galaxy" in notes and "rsit:made-up" in notes


def test_unknown_attribute_types_are_reported_per_attribute_and_nothing_is_imported(network, incident):
    event = misp_event(("ip-dst", "192.0.2.1", []), ("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", []),
                       hashes={"md5": MD5, "filename": "invoice.exe"})
    report = upload(network, incident, event)
    assert not report.imported and incident.observables.count() == 0
    outcomes = [(i.index, i.source, i.outcome) for i in report.items]
    assert outcomes == [(1, "ip-dst", "import"), (2, "btc", "error"), (3, "file object: md5", "import"),
                        (4, "file object: filename", "error")]
    assert "no observable type for MISP type 'btc'" in report.items[1].reason
    assert report.items[1].ref == event.attributes[1].uuid


@pytest.mark.parametrize("attribute, problem", [
    ({"type": "ip-dst", "value": "999.1.1.1"}, "is not an IPv4 address"),
    ({"type": "ip-dst", "value": 5}, "value: expected text, got a number"),
    ({"type": ["ip-dst"], "value": "192.0.2.1"}, "type: expected text, got a list"),
    ({"type": "no-such-type", "value": "x"}, "'no-such-type' is not a MISP attribute type"),
    ({"type": "ip-dst", "value": "192.0.2.1", "Tag": [{"name": "tlp:purple"}]}, "names no TLP 2.0 label"),
    ({"type": "ip-dst", "value": "192.0.2.1", "Tag": "tlp:red"}, "Tag: expected a list, got text"),
    ({"type": "ip-dst", "value": "192.0.2.1", "first_seen": "yesterday-ish"}, "first_seen: 'yesterday-ish' is not a date-time"),
    ({"type": "domain", "value": "a" * 3000 + ".example"}, "longer than 2048 characters"),
    ({"type": "domain", "value": "c2.example", "comment": "x" * 2500}, "note: text of at most 2000 characters"),
])
def test_a_bad_attribute_is_named_and_nothing_is_imported(network, incident, attribute, problem):
    document = {"Event": {"info": "x", "Attribute": [{"type": "domain", "value": "fine.example"}, attribute]}}
    report = upload(network, incident, document)
    assert not report.imported and incident.observables.count() == 0
    assert report.items[0].outcome == "import" and report.items[1].outcome == "error"
    assert problem in report.items[1].reason


@pytest.mark.parametrize("content, problem", [
    (b"this is not json", "not JSON"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"", "empty"),
    (b"[1, 2, 3]", "a JSON list"),
    (b'"an event"', "The file is text"),
    (b'{"hello": "world"}', "Not a MISP event"),
    (b'{"Event": []}', "Event: expected an object, got a list"),
    (b'{"Event": {"info": "x", "Attribute": "192.0.2.1"}}', "Event.Attribute: expected a list, got text"),
    (b'{"Event": {"info": "x", "Attribute": [5]}}', "Event.Attribute[0]: expected an object, got a number"),
    (b'{"Event": {"info": "x", "Object": [{"name": 5}]}}', "Event.Object[0].name: expected text"),
    (b'{"Event": {"info": "x", "Object": [{"name": "file", "Attribute": {}}]}}', "Event.Object[0].Attribute"),
    (b'{"Event": {"info": "x", "Tag": [{"name": null}]}}', "Event.Tag[0].name: expected text, got null"),
    (b'{"Event": {"info": "x", "Tag": [{"name": "tlp:ex:chr"}]}}', "names no TLP 2.0 label"),
    (b'{"Event": {"Attribute": [], "date": "not a date"}}', "Not a MISP event PyMISP can load"),
    (b'{"Event": {"info": "x", "Attribute": []}}', "no attribute or indicator to import"),
    (b'{"type": "bundle", "id": "bundle--1", "objects": []}', "STIX bundle, not a MISP event"),
    (b'{"Event": {"info": "a\\u0000b"}}', "NUL"),
])
def test_a_file_that_is_not_a_misp_event_is_refused_naming_the_problem(network, incident, content, problem):
    report = upload(network, incident, content)
    assert not report.imported and incident.observables.count() == 0
    assert problem in " ".join(report.errors), report.errors


def test_hostile_files_are_refused_whole(network, incident):
    huge = b'{"Event": {"info": "' + b"x" * MAX_IMPORT_BYTES + b'"}}'
    deep = b'{"Event": {"info": "x", "Attribute": [' + b"[" * 5000 + b"]" * 5000 + b"]}}"
    long_string = json.dumps({"Event": {"info": "x" * (MAX_STRING + 1), "Attribute": []}})
    many = json.dumps({"Event": {"info": "x", "Attribute": [{"type": "ip-dst", "value": "192.0.2.1"}] * (MAX_ITEMS + 1)}})
    answers = {name: " ".join(upload(network, incident, content).errors)
               for name, content in [("huge", huge), ("deep", deep), ("long", long_string), ("many", many)]}
    assert "larger than 8 MiB" in answers["huge"]
    assert "nested more than" in answers["deep"]
    assert f"longer than {MAX_STRING:,} characters" in answers["long"] and "Event.info" in answers["long"]
    assert f"{MAX_ITEMS + 1:,} attributes" in answers["many"]
    assert incident.observables.count() == 0


def test_a_value_already_on_the_incident_is_reported_present_and_left_alone(network, incident):
    analyst = network["people"]["de_analyst"]
    services.add_observable(actor=analyst, incident=incident, type="domain", value="c2.example", note="ours")
    report = upload(network, incident, misp_event(("domain", "c2.example", []), ("domain", "new.example", [])))
    assert report.imported and report.created == 1
    assert [i.outcome for i in report.items] == ["present", "import"]
    assert incident.observables.get(value="c2.example").note == "ours"


def test_a_value_twice_in_the_file_is_added_once_with_the_stricter_tlp(network, incident):
    report = upload(network, incident, misp_event(("ip-dst", "192.0.2.1", []), ("ip-src", "192.0.2.1", ["tlp:red"])))
    assert report.imported and report.created == 1 and [i.outcome for i in report.items] == ["import", "duplicate"]
    assert observables(incident)["192.0.2.1"][1] == "red"


def test_the_import_is_audited_and_told_like_a_csv_upload(network, incident):
    before = Event.objects.filter(kind="observables.added").count()
    upload(network, incident, misp_event(("domain", "c2.example", []), ("ip-dst", "192.0.2.1", ["tlp:red"])))
    entry = AuditEntry.objects.filter(action="observables.imported").get()
    assert entry.after["values"] == ["domain:c2.example"]  # the RED one is in an entry of its own
    assert AuditEntry.objects.filter(action="observables.added_restricted").count() == 1
    assert Event.objects.filter(kind="observables.added").count() == before + 2


def test_a_recipient_who_may_not_change_the_incident_imports_nothing(network, incident):
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    with pytest.raises(PermissionDenied):
        upload(network, incident, misp_event(("domain", "c2.example", [])), who="fr_analyst")
    assert incident.observables.count() == 0


ROUND_TRIP = [  # (portal type, value, MISP type, TLP tag, tags)
    ("ipv4", "192.0.2.1", "ip-dst", "tlp:clear", ['rsit:malicious-code="c2-server"']),
    ("ipv6", "2001:db8::1", "ip-src", "tlp:green", ["wiper"]),
    ("cidr", "198.51.100.0/24", "ip-dst", "tlp:amber", []),
    ("domain", "evil.example", "domain", "tlp:amber+strict", ["rsit:malicious-code", "phishing"]),
    ("url", "https://evil.example/it's", "url", "tlp:red", []),
    ("email", "x@evil.example", "email-src", "tlp:green", []),
    ("asn", "AS64512", "AS", "tlp:clear", []),
    ("cve", "CVE-2024-3400", "vulnerability", "tlp:amber", ['rsit:vulnerable="vulnerable-system"']),
]
FILE_HASHES = [("md5", MD5, "tlp:red"), ("sha1", SHA1, "tlp:amber"), ("sha256", SHA256, "tlp:green")]


def test_round_trip_every_observable_type_and_tlp_label_from_a_pymisp_event(network, incident):
    incident.tlp = "clear"
    incident.save(update_fields=["tlp"])
    event = misp_event(*[(misp_type, value, [tlp, *tags]) for _, value, misp_type, tlp, tags in ROUND_TRIP], tags=())
    file_object = MISPObject("file")
    for relation, value, tlp in FILE_HASHES:
        file_object.add_attribute(relation, value=value, Tag=[{"name": tlp}])
    event.add_object(file_object)
    report = upload(network, incident, event)
    assert report.imported, [(i.index, i.reason) for i in report.items if i.reason]
    expected = {value: (kind, tlp.removeprefix("tlp:"), sorted(tags)) for kind, value, _, tlp, tags in ROUND_TRIP}
    expected |= {value: (kind, tlp.removeprefix("tlp:"), []) for kind, value, tlp in FILE_HASHES}
    assert observables(incident) == expected


def _page_upload(client, incident, content: bytes, format=""):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("event.json", content, content_type="application/json")
    return client.post(f"/incidents/{incident.pk}/observables/import/", {"import-file": upload, "import-format": format})


def test_the_incident_page_imports_and_shows_the_report_per_attribute(network, incident, login):
    client = login(network["people"]["de_analyst"])
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Import a MISP event or STIX 2.1 bundle" in page
    response = _page_upload(client, incident, misp_event(("domain", "c2.example", []), ("btc", "1Boat", [])).to_json().encode())
    assert response.status_code == 400 and incident.observables.count() == 0
    text = response.content.decode()
    assert "Nothing imported: 1 item cannot be imported." in text and "Would be added" in text and "btc" in text
    response = _page_upload(client, incident, misp_event(("domain", "c2.example", [])).to_json().encode(), "misp")
    assert response.status_code == 200 and "1 added" in response.content.decode()
    assert incident.observables.count() == 1


def test_the_import_page_action_is_403_for_a_recipient_and_404_for_an_outsider(network, incident, login):
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    content = misp_event(("domain", "c2.example", [])).to_json().encode()
    recipient = login(network["people"]["fr_analyst"])
    assert "Import a MISP event" not in recipient.get(f"/incidents/{incident.pk}/").content.decode()
    assert _page_upload(recipient, incident, content).status_code == 403
    assert _page_upload(login(network["people"]["pt_analyst"]), incident, content).status_code == 404
    assert incident.observables.count() == 0


def test_round_trip_through_the_portals_own_misp_export(network, incident, login):
    """Every observable type, every TLP label and the tags survive the MISP export → import into another incident."""
    from .test_stix_validator import EVERY_TYPE

    analyst = network["people"]["de_analyst"]
    labels = ["clear", "green", "amber", "amber+strict", "red"]
    tags = {"ipv4": ['rsit:malicious-code="c2-server"'], "domain": ["phishing", "rsit:fraud"], "cve": ["patch-now"]}
    incident.tlp = "clear"
    incident.save(update_fields=["tlp"])
    for n, (kind, value) in enumerate(EVERY_TYPE.items()):
        services.add_observable(actor=analyst, incident=incident, type=kind, value=value, tlp=labels[n % 5],
                                tags=tags.get(kind, []))
    exported = login(analyst).get(f"/incidents/{incident.pk}/misp/")
    assert exported.status_code == 200 and exported["Content-Type"] == "application/json"
    other = services.report_incident(actor=analyst, organisation=network["orgs"]["de-csirt"], title="Same actor",
                                     aware_at=incident.aware_at, tlp="clear", severity="medium")

    report = upload(network, other, exported.content)

    assert report.imported, [(i.index, i.reason) for i in report.items if i.reason]
    assert observables(other) == observables(incident)
    assert len(observables(other)) == len(EVERY_TYPE)
