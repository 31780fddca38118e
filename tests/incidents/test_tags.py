"""Tags on incidents: machine tags of the vocabularies CSIRTs use (MISP's tlp, rsit, nis) plus free words.

An unknown vocabulary is a 400 naming the tag and nothing changes; the incident list page and
the API filter by tag alike; a tlp: tag is the label itself, never a second truth beside it.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Tag, TagVocabulary
from incidents.tags import InvalidTag, canonical


@pytest.fixture
def de(network, token_for):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'], 'read,write')}")


def _patch(client, incident, body):
    return client.patch(f"/api/v1/incidents/{incident.pk}/", body, content_type="application/json")


def _report(network, title, **facts):
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, aware_at=timezone.now() - timedelta(hours=1), **facts)


@pytest.mark.parametrize("typed,stored", [
    ("RSIT:Malicious-Code = infected-system", 'rsit:malicious-code="infected-system"'),
    ('nis:impact-severity="RED"', 'nis:impact-severity="red"'),
    ("  Operation   Lights-Out ", "operation lights-out"),
    ("free:Wiper", "wiper"),
    ("tlp:AMBER+STRICT", "tlp:amber+strict"),
])
def test_a_tag_is_stored_in_one_spelling_whatever_the_typing(typed, stored):
    assert canonical(typed) == stored


@pytest.mark.parametrize("typed", ["", "rsit:", "a:b:c=d e", 'x"y', "<script>"])
def test_a_malformed_tag_is_refused_saying_so(typed):
    with pytest.raises(InvalidTag):
        canonical(typed)


def test_the_vocabularies_are_data_seeded_from_the_taxonomies(db):
    assert set(TagVocabulary.objects.values_list("namespace", flat=True)) == {"tlp", "rsit", "nis", "free"}
    names = set(Tag.objects.values_list("name", flat=True))
    assert {"tlp:amber+strict", "rsit:malicious-code", 'rsit:availability="ddos"', 'nis:impact-severity="red"',
            'nis:impact-outlook="worsening"', 'nis:nature-root-cause="malicious-actions"',
            'nis:nature-severity="high"'} <= names


def test_soc_tool_tags_an_incident_and_reads_them_back_with_its_label_first(incident, de):
    response = _patch(de, incident, {"tags": ["RSIT:Malicious-Code = infected-system", "Wiper",
                                              'nis:nature-root-cause="malicious-actions"']})

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["tlp:amber", 'nis:nature-root-cause="malicious-actions"',
                                       'rsit:malicious-code="infected-system"', "wiper"]
    entry = AuditEntry.objects.filter(action="incident.updated").latest("id")
    assert entry.before["tags"] == ["tlp:amber"] and "wiper" in entry.after["tags"]


@pytest.mark.parametrize("tag,says", [
    ("foo:bar", "Tag 'foo:bar': unknown vocabulary 'foo'"),
    ("rsit:made-up", "Tag 'rsit:made-up' is not in the Reference Security Incident Taxonomy (rsit) vocabulary."),
    ('nis:impact-severity="purple"', "is not in the NIS Cooperation Group taxonomy (nis) vocabulary."),
    ("tlp:red", "the TLP is the label itself (TLP:AMBER), not a tag"),
])
def test_an_unknown_tag_is_a_400_naming_it_and_nothing_changes(incident, de, tag, says):
    services.tag_incident(actor=incident.reported_by, incident=incident, add=["kept"])

    response = _patch(de, incident, {"title": "Renamed", "tags": ["wiper", tag]})

    assert response.status_code == 400
    assert any(says in message for message in response.json()["error"]["fields"]["tags"])
    incident.refresh_from_db()
    assert incident.title == "Ransomware at a DSO" and [t.name for t in incident.tags.all()] == ["kept"]
    assert not Tag.objects.filter(name="wiper").exists()  # a refused call creates no free tag either


def test_the_tlp_tag_follows_the_label_changed_in_the_same_call(incident, de):
    response = _patch(de, incident, {"tlp": "amber+strict", "tags": ["tlp:amber+strict", "wiper"]})

    assert response.status_code == 200, response.content
    assert response.json()["tlp"] == "amber+strict" and response.json()["tags"] == ["tlp:amber+strict", "wiper"]


def test_analyst_adds_and_removes_tags_on_the_incident_page(incident, network, login):
    client = login(network["people"]["de_analyst"])
    url = f"/incidents/{incident.pk}/tags/"

    added = client.post(url, {"tags-add": 'rsit:availability="ddos", botnet'})
    removed = client.post(url, {"tags-remove": "botnet"})

    assert added.status_code == removed.status_code == 302
    assert [t.name for t in incident.tags.all()] == ['rsit:availability="ddos"']
    assert AuditEntry.objects.filter(action="incident.tagged", object_id=str(incident.pk)).count() == 2
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert 'rsit:availability=&quot;ddos&quot;' in page and 'list="tag-vocabulary"' in page


def test_an_unknown_vocabulary_on_the_page_is_shown_on_the_form_with_400(incident, network, login):
    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/tags/",
                                                            {"tags-add": "foo:bar"})

    assert response.status_code == 400
    assert "unknown vocabulary" in " ".join(response.context["tag_form"].non_field_errors())
    assert not incident.tags.exists()


def test_a_recipient_does_not_tag_the_originators_incident(incident, network, login, token_for):
    services.share_incident(actor=incident.reported_by, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    fr = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['fr-csirt'], 'read,write')}")

    page = login(network["people"]["fr_analyst"]).post(f"/incidents/{incident.pk}/tags/", {"tags-add": "ours"})
    api = _patch(fr, incident, {"tags": ["ours"]})

    assert page.status_code == api.status_code == 403
    assert not incident.tags.exists()


# --- Filtering --------------------------------------------------------------------------------------


@pytest.fixture
def tagged(network):
    wiper = _report(network, "Wiper at a DSO", tags=['rsit:malicious-code="infected-system"', "wiper"])
    c2 = _report(network, "C2 server", tags=["rsit:malicious-code"])
    ddos = _report(network, "DDoS on a TSO", tags=['rsit:availability="ddos"'], tlp="green")
    return {"wiper": wiper, "c2": c2, "ddos": ddos}


@pytest.mark.parametrize("tag,expected", [
    ("rsit:malicious-code", {"wiper", "c2"}),  # a class selects its types too
    ('rsit:malicious-code="infected-system"', {"wiper"}),
    ("Wiper", {"wiper"}),
    ("tlp:green", {"ddos"}),  # the label
    ("never-used-anywhere", set()),  # an unknown free word selects nothing, telling nothing
])
def test_the_list_page_and_the_api_filter_by_tag_alike(tagged, network, de, login, tag, expected):
    names = {incident.pk: name for name, incident in tagged.items()}

    api = de.get("/api/v1/incidents/", {"tag": tag})
    page = login(network["people"]["de_analyst"]).get("/incidents/", {"tag": tag})

    assert api.status_code == page.status_code == 200
    assert {names[i["id"]] for i in api.json()["results"]} == expected
    assert {names[row["incident"].pk] for row in page.context["rows"]} == expected


@pytest.mark.parametrize("tag,says", [("foo:bar", "unknown vocabulary 'foo'"), ("rsit:made-up", "not in the")])
def test_filtering_by_an_unknown_vocabulary_is_a_400_naming_the_tag(tagged, network, de, login, tag, says):
    api = de.get("/api/v1/incidents/", {"tag": tag})
    page = login(network["people"]["de_analyst"]).get("/incidents/", {"tag": tag})

    assert api.status_code == page.status_code == 400
    assert says in api.json()["error"]["fields"]["tag"][0]
    assert says in page.context["form"].errors["tag"][0]


def test_an_incident_reported_with_tags_over_the_api_has_them(de):
    response = de.post("/api/v1/incidents/", {"title": "Phishing wave", "aware_at": "2026-11-23T06:00:00Z",
                                              "tags": ["rsit:fraud=phishing"]}, content_type="application/json")

    assert response.status_code == 201, response.content
    assert response.json()["tags"] == ["tlp:amber", 'rsit:fraud="phishing"']
