"""Children stricter than their incident stay with their organisation on every read path (issue 12 §2).

A TLP:RED observable (or update) on a TLP:AMBER incident shared with CERT-FR is read by
CERT-Bund, its author, and by nobody the incident's wider audience contains: not in the
observables list, the incident page, the STIX export, "who else saw this?", the event feed
or the live stream.
"""

import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from incidents import services
from liaison.selectors import events_visible_to
from tests.liaison.test_consumers import caught_up, open_stream

OPEN, SECRET = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def shared(network, incident):
    """The AMBER incident shared with fr-csirt, with one AMBER and one RED observable and a RED update."""
    de = network["people"]["de_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    services.add_observables(actor=de, incident=incident, rows=[
        {"type": "ipv4", "value": OPEN},
        {"type": "ipv4", "value": SECRET, "tlp": "red", "note": "our honeypot"},
    ])
    services.add_timeline_entry(actor=de, incident=incident, text="Source is our own agent", tlp="red")
    return incident


def _api(token) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.django_db
def test_a_red_observable_on_an_amber_incident_is_read_only_by_its_organisation(network, shared, token_for, login):
    fr_tool, de_tool = (_api(token_for(network["orgs"][code])) for code in ("fr-csirt", "de-csirt"))
    fr_page, de_page = (login(network["people"][who]) for who in ("fr_analyst", "de_analyst"))
    paths = {
        "observables list": f"/api/v1/incidents/{shared.pk}/observables/",
        "STIX export (API)": f"/api/v1/incidents/{shared.pk}/stix/",
        "who else saw this? (API)": f"/api/v1/observables/search/?value={SECRET}",
    }
    pages = {
        "incident page": f"/incidents/{shared.pk}/",
        "STIX export (page)": f"/incidents/{shared.pk}/stix/",
    }
    for name, url in paths.items():
        fr_body, de_body = fr_tool.get(url).content.decode(), de_tool.get(url).content.decode()
        assert SECRET not in fr_body and "honeypot" not in fr_body, name
        assert SECRET in de_body, name
    for name, url in pages.items():
        fr_body, de_body = fr_page.get(url).content.decode(), de_page.get(url).content.decode()
        assert SECRET not in fr_body and "honeypot" not in fr_body, name
        assert SECRET in de_body, name
    search = f"/incidents/search/?q={SECRET}"  # the page repeats the query: look for the incident instead
    assert "No incident you may see has this observable" in fr_page.get(search).content.decode()
    assert shared.reference in de_page.get(search).content.decode()
    listed = fr_tool.get(paths["observables list"]).json()["results"]
    assert [o["value"] for o in listed] == [OPEN]  # the AMBER one is shared as before
    assert 'Observables <span class="muted">(1)</span>' in fr_page.get(pages["incident page"]).content.decode()


@pytest.mark.django_db
def test_events_of_stricter_children_reach_only_their_organisation(network, shared, token_for):
    fr, de = network["people"]["fr_analyst"], network["people"]["de_analyst"]
    fr_events = [e for e in events_visible_to(fr, after=0, limit=1000)[0] if e.subject_type == "incident"]
    de_events = [e for e in events_visible_to(de, after=0, limit=1000)[0] if e.subject_type == "incident"]
    assert [e.payload["created"] for e in fr_events if e.kind == "observables.added"] == [1]
    assert sorted(e.payload["created"] for e in de_events if e.kind == "observables.added") == [1, 1]
    assert not [e for e in fr_events if e.kind == "timeline.added"]
    assert len([e for e in de_events if e.kind == "timeline.added"]) == 1
    feed = _api(token_for(network["orgs"]["fr-csirt"])).get("/api/v1/events/?after=0").json()["results"]
    kinds = [(e["kind"], e["payload"].get("created")) for e in feed if e["subject_type"] == "incident"]
    assert ("observables.added", 1) in kinds and kinds.count(("observables.added", 1)) == 1
    assert not any(kind == "timeline.added" for kind, _ in kinds)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.timeout(60)
async def test_the_live_stream_leaves_out_stricter_children_of_a_shared_incident(network, token_for):
    de = network["people"]["de_analyst"]

    @database_sync_to_async
    def setup():
        from datetime import timedelta

        from django.utils import timezone
        incident = services.report_incident(actor=de, organisation=network["orgs"]["de-csirt"], title="Wiper",
                                            aware_at=timezone.now() - timedelta(hours=1), tlp="amber")
        services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
        services.add_observables(actor=de, incident=incident, rows=[{"type": "ipv4", "value": SECRET, "tlp": "red"}])
        services.add_timeline_entry(actor=de, incident=incident, text="Own agent", tlp="red")
        services.add_observables(actor=de, incident=incident, rows=[{"type": "ipv4", "value": OPEN}])
        return token_for(network["orgs"]["fr-csirt"]), token_for(network["orgs"]["de-csirt"])

    fr_token, de_token = await setup()
    fr_stream = await open_stream(token=fr_token, after=0)
    fr_events, _ = await caught_up(fr_stream)
    await fr_stream.disconnect()
    de_stream = await open_stream(token=de_token, after=0)
    de_events, _ = await caught_up(de_stream)
    await de_stream.disconnect()
    fr_kinds = [e["kind"] for e in fr_events if e["subject_type"] == "incident"]
    de_kinds = [e["kind"] for e in de_events if e["subject_type"] == "incident"]
    assert fr_kinds.count("observables.added") == 1 and "timeline.added" not in fr_kinds
    assert de_kinds.count("observables.added") == 2 and "timeline.added" in de_kinds
    assert SECRET not in json.dumps(fr_events)
