"""One observable at a time: added in a form or over the API, its note, TLP and tags edited, deleted; audited.

The reporting organisation's editors write observables; a recipient who sees one gets 403 and
nothing changes; one labelled more strictly than its incident stays with the reporting
organisation, when edited too.
"""

import pytest
from django.test import Client

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Observable
from liaison.models import Event, EventAudience


@pytest.fixture
def shared(incident, network):
    """The AMBER incident, shared with fr-csirt, with one observable of the incident's label."""
    de = network["people"]["de_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    observable = services.add_observable(actor=de, incident=incident, type="ipv4", value="198.51.100.23",
                                         note="C2 seen at 02:00")
    return incident, observable


def _api(incident, observable=None):
    tail = f"{observable.pk}/" if observable else ""
    return f"/api/v1/incidents/{incident.pk}/observables/{tail}"


def _token(network, token_for, org):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs'][org], 'read,write')}")


def _audience(event) -> set[str]:
    return set(EventAudience.objects.filter(event=event).values_list("group__name", flat=True))


# --- Adding one ---------------------------------------------------------------------------------


def test_analyst_adds_one_observable_in_the_form_refanged_and_audited(incident, network, login):
    client = login(network["people"]["de_analyst"])

    response = client.post(f"/incidents/{incident.pk}/observables/add/", {
        "observable-type": "domain", "observable-value": "evil[.]Example[.]org", "observable-tlp": "amber",
        "observable-note": "Phishing landing page", "observable-tags": "phishing, rsit:fraud=phishing"})

    assert response.status_code == 302 and response["Location"].endswith("#observables")
    observable = incident.observables.get()
    assert (observable.type, observable.value, observable.note) == ("domain", "evil.example.org",
                                                                    "Phishing landing page")
    assert sorted(t.name for t in observable.tags.all()) == ["phishing", 'rsit:fraud="phishing"']
    entry = AuditEntry.objects.get(action="observable.added", object_id=str(observable.pk))
    assert entry.after["value"] == "evil.example.org"
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "evil.example.org" in page and 'rsit:fraud=&quot;phishing&quot;' in page


def test_a_value_already_on_the_incident_is_refused_on_the_value_field(shared, network, login):
    incident, observable = shared

    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/observables/add/", {
        "observable-type": "ipv4", "observable-value": "198.051.100.023", "observable-tlp": "amber"})

    assert response.status_code == 400
    assert response.context["observable_form"].errors["value"] == [
        "198.51.100.23 is already an observable of this incident: edit it there."]
    assert incident.observables.count() == 1


@pytest.mark.parametrize("field,value,error", [
    ("observable-value", "999.1.1.1", "not an IPv4 address"),
    ("observable-tags", "foo:bar", "unknown vocabulary 'foo'"),
])
def test_bad_observable_is_refused_saying_why_and_nothing_is_added(incident, network, login, field, value, error):
    data = {"observable-type": "ipv4", "observable-value": "192.0.2.10", "observable-tlp": "amber", field: value}

    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/observables/add/", data)

    form = response.context["observable_form"]
    assert response.status_code == 400 and error in " ".join(e for errors in form.errors.values() for e in errors)
    assert not incident.observables.exists()


# --- Editing --------------------------------------------------------------------------------------


def test_originator_changes_note_tlp_and_tags_over_the_api(shared, network, token_for):
    incident, observable = shared
    de = _token(network, token_for, "de-csirt")

    response = de.patch(_api(incident, observable), {"note": "C2 of the wiper", "tlp": "red",
                                                     "tags": ["nis:nature-severity=high", "wiper"]},
                        content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["note"] == "C2 of the wiper" and body["tlp"] == "red"
    assert body["tags"] == ["tlp:red", 'nis:nature-severity="high"', "wiper"]
    entry = AuditEntry.objects.get(action="observable.updated", object_id=str(observable.pk))
    assert (entry.before["tlp"], entry.after["tlp"]) == ("amber", "red")
    assert entry.before["tags"] == ["tlp:amber"]


def test_recipient_editing_an_observable_gets_403_and_nothing_changes(shared, network, token_for, login):
    incident, observable = shared
    fr = _token(network, token_for, "fr-csirt")
    audited = AuditEntry.objects.count()

    api = fr.patch(_api(incident, observable), {"note": "Ours now"}, content_type="application/json")
    deleted = fr.delete(_api(incident, observable))
    page = login(network["people"]["fr_analyst"]).post(
        f"/incidents/{incident.pk}/observables/{observable.pk}/edit/",
        {"observable-tlp": "amber", "observable-note": "Ours now"})

    assert api.status_code == deleted.status_code == page.status_code == 403
    assert "reporting organisation" in api.json()["error"]["message"]
    observable.refresh_from_db()
    assert observable.note == "C2 seen at 02:00" and AuditEntry.objects.count() == audited


def test_an_observable_cannot_be_less_restricted_than_its_incident(shared, network, token_for):
    incident, observable = shared

    response = _token(network, token_for, "de-csirt").patch(
        _api(incident, observable), {"tlp": "green", "note": "Public now"}, content_type="application/json")

    assert response.status_code == 400
    assert "less restricted than its incident (TLP:AMBER)" in response.json()["error"]["fields"]["tlp"][0]
    observable.refresh_from_db()
    assert (observable.tlp, observable.note) == ("amber", "C2 seen at 02:00")


def test_a_stricter_observable_stays_with_the_reporting_organisation_when_edited(shared, network, token_for):
    incident, observable = shared
    de, fr = (_token(network, token_for, org) for org in ("de-csirt", "fr-csirt"))
    assert fr.get(_api(incident, observable)).status_code == 200

    de.patch(_api(incident, observable), {"tlp": "red"}, content_type="application/json")
    de.patch(_api(incident, observable), {"note": "Attribution notes"}, content_type="application/json")

    assert fr.get(_api(incident, observable)).status_code == 404
    assert fr.patch(_api(incident, observable), {"note": "x"}, content_type="application/json").status_code == 404
    assert observable.pk not in [o["id"] for o in fr.get(_api(incident)).json()["results"]]
    assert de.get(_api(incident, observable)).json()["note"] == "Attribution notes"
    # The second change happened while only de-csirt could see it: only de-csirt is told.
    last = Event.objects.filter(kind="observable.updated").latest("id")
    assert last.payload["changed"] == ["note"] and _audience(last) == {"org:de-csirt"}


def test_editor_saves_the_edit_page(shared, network, login):
    incident, observable = shared
    client = login(network["people"]["de_analyst"])
    url = f"/incidents/{incident.pk}/observables/{observable.pk}/edit/"
    assert "C2 seen at 02:00" in client.get(url).content.decode()

    response = client.post(url, {"observable-tlp": "amber+strict", "observable-note": "Sinkholed",
                                 "observable-tags": "sinkholed"})

    assert response.status_code == 302
    observable.refresh_from_db()
    assert (observable.tlp, observable.note, [t.name for t in observable.tags.all()]) == (
        "amber+strict", "Sinkholed", ["sinkholed"])


# --- Deleting -----------------------------------------------------------------------------------


def test_deleting_an_observable_removes_it_and_the_log_keeps_what_it_was(shared, network, token_for):
    incident, observable = shared

    response = _token(network, token_for, "de-csirt").delete(_api(incident, observable))

    assert response.status_code == 204
    assert not Observable.objects.filter(pk=observable.pk).exists()
    entry = AuditEntry.objects.get(action="observable.deleted")
    assert entry.object_type == "incidents.incident" and entry.before["observable"]["value"] == "198.51.100.23"
    event = Event.objects.filter(kind="observable.deleted").latest("id")
    assert "org:fr-csirt" in _audience(event)  # they saw it: they are told it is gone


def test_deleting_on_the_page_goes_back_to_the_observables(shared, network, login):
    incident, observable = shared

    response = login(network["people"]["de_analyst"]).post(
        f"/incidents/{incident.pk}/observables/{observable.pk}/delete/")

    assert response.status_code == 302 and response["Location"].endswith("#observables")
    assert not incident.observables.exists()


def test_an_observable_of_another_incident_is_a_404(shared, network, token_for):
    incident, observable = shared
    other = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                     title="Other", aware_at=incident.aware_at)

    response = _token(network, token_for, "de-csirt").patch(
        _api(other, observable), {"note": "x"}, content_type="application/json")

    assert response.status_code == 404
