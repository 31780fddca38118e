"""Who reads a published situation report, label by label: never anyone the primary incident's own rules hide it from.

For each TLP label of de-csirt's primary incident (at crisis level 2, affecting DE and FR), shared as widely as
the label allows with CERT-FR and ENISA (named people at TLP:RED; the CSIRTs network too at CLEAR and GREEN),
ENISA drafts and another ENISA person publishes a report with the default audience. Then each reader (the
originator, the recipient CERT-FR, an ENISA colleague, another member state's CSIRT, a Reserve provider) reads
its sections through the selector (``report_for_reader``) and the API detail. The oracle is
``incidents.selectors.incidents_visible_to``: whoever reads an item from the incident sees the incident. The
check is made again after the originator revokes CERT-FR's share: the report follows at once.
"""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from awareness.selectors.sitreps import report_for_reader
from awareness.services import sitreps as services
from incidents import services as incident_services
from incidents.models import Incident
from incidents.selectors import incidents_visible_to
from liaison.roles import Community
from tests import factories

pytestmark = pytest.mark.django_db

READERS = ["de_analyst", "fr_analyst", "enisa_triage", "pt_analyst", "provider"]
LABELS = ["clear", "green", "amber", "amber+strict", "red"]
# Who reads the report, per label. At TLP:RED the report goes to named people only, so the originator's
# organisation is not addressed (it still sees its incident: reading less than the incident allows is no leak),
# and ENISA's other staff, who were not named, read nothing.
EXPECTED = {
    "clear": {"de_analyst", "fr_analyst", "enisa_triage", "pt_analyst"},
    "green": {"de_analyst", "fr_analyst", "enisa_triage", "pt_analyst"},
    "amber": {"de_analyst", "fr_analyst", "enisa_triage"},
    "amber+strict": {"de_analyst", "fr_analyst", "enisa_triage"},
    "red": {"fr_analyst"},
}


def _published_report(network, tlp: str):
    orgs, people = network["orgs"], dict(network["people"])
    people["enisa_liaison"] = factories.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    people["enisa_crisis"] = factories.person("crisis@enisa.example", orgs["enisa"], ["crisis_manager"])
    de = people["de_analyst"]
    incident = incident_services.report_incident(
        actor=de, organisation=orgs["de-csirt"], title=f"Grid control encrypted ({tlp})",
        aware_at=timezone.now() - timedelta(hours=3), tlp=tlp,
        affected_member_states=[factories.member_state("DE"), factories.member_state("FR")])
    if tlp == "red":
        shares = incident_services.share_incident(actor=de, incident=incident, people=[
            people["fr_analyst"], people["enisa_liaison"], people["enisa_crisis"]])
    else:
        shares = incident_services.share_incident(
            actor=de, incident=incident, organisations=[orgs["fr-csirt"], orgs["enisa"]],
            communities=[Community.CSIRTS_NETWORK] if tlp in ("clear", "green") else [])
    (fr_share,) = [s for s in shares if people["fr_analyst"].groups.filter(pk=s.group_id).exists()
                   and s.target_kind != "community"]
    Incident.objects.filter(pk=incident.pk).update(crisis_level=2)
    incident.refresh_from_db()
    for author, text in (("de_analyst", "DE-UPDATE grid on manual control"), ("fr_analyst", "FR-UPDATE no impact")):
        incident_services.add_timeline_entry(actor=people[author], incident=incident, text=text, tlp=tlp,
                                             kind="situation", impact_severity="yellow")
    report = services.draft_report(actor=people["enisa_liaison"], incident=incident, assessment="ENISA-ASSESSMENT")
    services.submit_report(actor=people["enisa_liaison"], report=report)
    return incident, services.publish_report(actor=people["enisa_crisis"], report=report), fr_share


def _items_from(sections, incident) -> list[str]:
    return [item["text"] for section in sections for item in section["items"]
            if item["source"]["incident"] == incident.pk]


def _reading(network, login, incident, report) -> tuple[set, set]:
    """(who reads the report's items from the incident, who sees the incident), checking selector and API agree."""
    readers, seers = set(), set()
    for name in READERS:
        person = network["people"][name]
        if incidents_visible_to(person).filter(pk=incident.pk).exists():
            seers.add(name)
        try:
            reader = report_for_reader(report=report, user=person)
        except Http404:
            reader = None
        response = login(person).get(f"/api/v1/sitreps/{report.pk}/")
        assert response.status_code == (200 if reader else 404), name
        if reader is None:
            assert "UPDATE" not in response.content.decode(), name
            continue
        readers.add(name)
        from_selector = [i.text for s in reader.sections for i in s.items if i.source["incident"] == incident.pk]
        from_api = _items_from(response.json()["sections"], incident)
        assert from_selector == from_api, name
        assert ("DE-UPDATE grid on manual control" in from_api) == (name in seers), name
    return readers, seers


@pytest.mark.parametrize("tlp", LABELS)
def test_a_report_is_read_by_no_one_the_incident_is_hidden_from(network, login, tlp):
    incident, report, fr_share = _published_report(network, tlp)

    readers, seers = _reading(network, login, incident, report)
    assert readers <= seers, f"{sorted(readers - seers)} read a {tlp} report on an incident they may not see"
    assert readers == EXPECTED[tlp]
    assert "provider" not in seers

    incident_services.unshare_incident(actor=network["people"]["de_analyst"], share=fr_share)
    readers, seers = _reading(network, login, incident, report)
    assert readers <= seers, f"{sorted(readers - seers)} still read a {tlp} report after the share was revoked"
    assert readers == EXPECTED[tlp] & seers
    # CERT-FR keeps the incident through the CSIRTs network at CLEAR and GREEN only.
    assert ("fr_analyst" in readers) == (tlp in ("clear", "green"))
