"""The MISP feed: read as a MISP instance reads it (the manifest, then only the events whose timestamp moved),
holding exactly what the token's organisation may see, its manifest in a constant number of queries."""

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time

from incidents import services
from tests.incidents.misp_support import assert_valid_misp, attribute_values, tag_names

FEED = "/api/v1/misp-feed/"


def _report(network, title, tlp="amber", **extra):
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, aware_at=timezone.now() - timedelta(hours=1), tlp=tlp, **extra)


def _hashes(client) -> set[str]:
    response = client.get(f"{FEED}hashes.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return set(b"".join(response.streaming_content).decode().splitlines())


class MispInstance:
    """What MISP does with a feed: read the manifest, fetch the events it has not seen at that timestamp."""

    def __init__(self, client):
        self.client, self.seen, self.fetched = client, {}, []

    def pull(self) -> dict:
        response = self.client.get(f"{FEED}manifest.json")
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        manifest = response.json()
        events = {}
        for event_uuid, entry in manifest.items():
            if self.seen.get(event_uuid) == entry["timestamp"]:
                continue
            event = self.client.get(f"{FEED}{event_uuid}.json")
            assert event.status_code == 200
            document = event.json()
            assert_valid_misp(document)
            assert document["Event"]["uuid"] == event_uuid
            for key in ("info", "date", "analysis", "threat_level_id", "Orgc"):
                assert str(document["Event"][key]) == str(entry[key]), key
            assert int(document["Event"]["timestamp"]) == entry["timestamp"]
            assert tag_names(document["Event"]) == [tag["name"] for tag in entry["Tag"]]
            self.seen[event_uuid] = entry["timestamp"]
            events[event_uuid] = document
        self.fetched.append(sorted(events))
        return events


@pytest.fixture
def fr_tool(network, token_for, bearer):
    return bearer(token_for(network["orgs"]["fr-csirt"], "read"))


def test_a_misp_instance_pulls_the_feed_and_then_only_what_changed(network, fr_tool):
    de = network["people"]["de_analyst"]
    incidents = [_report(network, f"Phishing wave {n}") for n in range(3)]
    for n, incident in enumerate(incidents):
        services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
        services.add_observables(actor=de, incident=incident, rows=[
            {"type": "domain", "value": f"kit-{n}.example"}, {"type": "sha256", "value": f"{n:064x}"}])
    misp = MispInstance(fr_tool)

    first = misp.pull()
    with freeze_time(timezone.now() + timedelta(minutes=2)):
        services.add_observable(actor=de, incident=incidents[1], type="url", value="https://kit-1.example/login")
    second = misp.pull()
    third = misp.pull()

    assert set(first) == {str(i.misp_uuid) for i in incidents}
    assert list(second) == [str(incidents[1].misp_uuid)]
    assert "https://kit-1.example/login" in attribute_values(second[str(incidents[1].misp_uuid)])
    assert third == {}
    events = {**first, **second}
    expected = {f"{hashlib.md5(value.encode()).hexdigest()},{event_uuid}"
                for event_uuid, document in events.items() for value in attribute_values(document)}
    assert _hashes(fr_tool) == expected and len(expected) == 7


def test_an_organisations_feed_holds_no_event_or_attribute_it_may_not_see(network, fr_tool, token_for, bearer):
    de = network["people"]["de_analyst"]
    shared = _report(network, "Shared with FR")
    services.share_incident(actor=de, incident=shared, organisations=[network["orgs"]["fr-csirt"]])
    services.add_observables(actor=de, incident=shared, rows=[
        {"type": "domain", "value": "shared.example"}, {"type": "domain", "value": "own-source.example", "tlp": "red"}])
    services.add_timeline_entry(actor=de, incident=shared, text="Own source", kind="situation", tlp="red",
                                root_cause="malicious_action")
    national = _report(network, "Not shared")
    services.add_observables(actor=de, incident=national, rows=[{"type": "domain", "value": "national.example"}])
    de_tool = bearer(token_for(network["orgs"]["de-csirt"], "read"))

    fr_events, de_events = MispInstance(fr_tool).pull(), MispInstance(de_tool).pull()

    assert list(fr_events) == [str(shared.misp_uuid)]
    fr_event = fr_events[str(shared.misp_uuid)]
    assert set(attribute_values(fr_event)) == {"shared.example"}
    assert 'nis:nature-root-cause="malicious-actions"' not in tag_names(fr_event["Event"])
    assert fr_tool.get(f"{FEED}{national.misp_uuid}.json").status_code == 404
    assert not any("own-source.example" in line or str(national.misp_uuid) in line for line in _hashes(fr_tool)) \
        and len(_hashes(fr_tool)) == 1
    assert set(de_events) == {str(shared.misp_uuid), str(national.misp_uuid)}
    assert 'nis:nature-root-cause="malicious-actions"' in tag_names(de_events[str(shared.misp_uuid)]["Event"])
    assert len(_hashes(de_tool)) == 3


@pytest.mark.parametrize("path", ["manifest.json", "hashes.csv", "00000000-0000-0000-0000-000000000000.json"])
def test_a_token_without_read_is_refused_naming_the_scope(network, token_for, bearer, path):
    response = bearer(token_for(network["orgs"]["fr-csirt"], "write")).get(f"{FEED}{path}")

    assert response.status_code == 403
    assert "'read' scope" in response.json()["error"]["message"]


def test_an_unknown_or_malformed_event_uuid_answers_like_an_invisible_one(network, fr_tool):
    invisible = _report(network, "Not shared")

    answers = {fr_tool.get(f"{FEED}{value}.json").content for value in
               (invisible.misp_uuid, "6a1f0c55-0000-4000-8000-000000000000", "not-a-uuid")}

    assert len(answers) == 1 and b"No such event" in answers.pop()


def test_the_manifest_takes_the_same_queries_for_two_incidents_or_twenty(network, fr_tool, bearer, token_for):
    de = network["people"]["de_analyst"]
    fr = network["orgs"]["fr-csirt"]
    from incidents.models import IncidentCategory, Sector

    def add(n):
        for i in range(n):
            incident = _report(network, f"Incident {i}", sectors=[Sector.objects.get(code="energy")],
                               category=IncidentCategory.objects.get(code="availability/ddos"), tags=["ddos"])
            services.share_incident(actor=de, incident=incident, organisations=[fr])
            services.add_timeline_entry(actor=de, incident=incident, text="x", kind="situation", impact_severity="red")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert fr_tool.get(f"{FEED}manifest.json").status_code == 200
        return len(captured)

    add(2)
    queries()  # the first read draws the organisation's identity id (stix.identity_ids): once for good
    few = queries()
    add(18)
    many = queries()

    assert few == many
    manifest = fr_tool.get(f"{FEED}manifest.json").json()
    assert len(manifest) == 20
    assert all([t["name"] for t in entry["Tag"]] == [
        "tlp:amber", 'rsit:availability="ddos"', 'nis:impact-sectors-impacted="energy"', 'nis:impact-severity="red"',
        "ddos"] for entry in manifest.values())
