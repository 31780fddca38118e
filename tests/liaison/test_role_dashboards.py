"""Each role's dashboard shows its work, counted, every item a link; and never another organisation's work.

Analysts: the open clocks of their organisation's incidents (overdue, due soon) and what was
shared with them. Everyone whose organisation is alerted: the alerts waiting for its answer
(linked to the incident where they may read it, else to the alert on their board). ENISA
triage: requests to assess; the contracting authority's decision-makers: requests to decide;
provider staff: offers to answer with their clock, and where they are deployed. The inbox links
every item, and tells a provider of an offer with its clock.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Alert
from liaison.selectors import inbox_for
from reserve import services as reserve_services
from reserve.workflow import RequestStatus
from tests.factories import member_state
from tests.reserve import factories as rf
from tests.reserve.conftest import reserve  # noqa: F401 - the Reserve's network

pytestmark = pytest.mark.django_db


def _panel(client, panel_id: str) -> str:
    html = client.get(reverse("liaison:dashboard")).content.decode()
    match = re.search(rf'<section class="card panel" id="{panel_id}">.*?</section>', html, re.S)
    return unescape(match.group(0)) if match else ""


def _report(network, who="de_analyst", org="de-csirt", *, hours_ago=2, **facts):
    facts = {"tlp": "amber", "severity": "high", "title": "Wiper at a DSO", **facts}
    return incident_services.report_incident(
        actor=network["people"][who], organisation=network["orgs"][org],
        aware_at=timezone.now() - timedelta(hours=hours_ago), affected_member_states=[member_state("DE")], **facts)


# --- Analysts: clocks and shares -------------------------------------------------------------------


def test_an_analyst_sees_the_overdue_and_due_soon_clocks_of_their_organisations_incidents(network, login):
    late = _report(network, title="Late wiper", hours_ago=30)  # early warning 24 h: overdue
    soon = _report(network, title="Fresh wiper", hours_ago=20)  # early warning due in 4 h: due soon
    _report(network, "fr_analyst", "fr-csirt", title="French late wiper", hours_ago=30)
    panel = _panel(login(network["people"]["de_analyst"]), "panel-incidents")
    assert "1 overdue" in panel and "1 due soon" in panel
    assert f'href="/incidents/{late.pk}/#deadlines">{late.reference} Late wiper</a> — Early warning' in panel
    assert f'href="/incidents/{soon.pk}/#deadlines">{soon.reference} Fresh wiper</a> — Early warning' in panel
    assert "French late wiper" not in panel


def test_an_analyst_sees_incidents_shared_with_them_as_links_and_not_their_own(network, login):
    _report(network, title="Own wiper")
    shared = _report(network, "fr_analyst", "fr-csirt", title="Shared by CERT-FR")
    incident_services.share_incident(actor=network["people"]["fr_analyst"], incident=shared,
                                     organisations=[network["orgs"]["de-csirt"]])
    _report(network, "fr_analyst", "fr-csirt", title="Kept by CERT-FR")
    panel = _panel(login(network["people"]["de_analyst"]), "panel-incidents")
    assert f'<a href="/incidents/{shared.pk}/">{shared.reference} Shared by CERT-FR</a>' in panel
    assert "from CERT-FR" in panel and "Own wiper" not in panel and "Kept by CERT-FR" not in panel
    assert "No clock of your organisation's incidents is overdue" in panel


# --- Alerts waiting for an answer ----------------------------------------------------------------------


def test_alerts_waiting_are_counted_and_lead_to_the_incident_or_for_an_unreadable_one_to_the_board(
        network, login, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        green = _report(network, title="Green wiper", tlp="green", technical_cooperation_requested=True)
        red = _report(network, title="Secret wiper", tlp="red", technical_cooperation_requested=True)
    green_alert = Alert.objects.get(incident=green, organisation__code="fr-csirt")
    red_alert = Alert.objects.get(incident=red, organisation__code="fr-csirt")
    fr = login(network["people"]["fr_analyst"])
    panel = _panel(fr, "panel-alerts")
    assert '<span class="badge bad">2</span>' in panel
    assert f'href="/incidents/{green.pk}/#alerts">{green.reference} Green wiper</a>' in panel
    assert f'href="/incidents/board/#my-alert-{red_alert.pk}">{red.reference}</a>' in panel
    assert "Secret wiper" not in panel  # TLP:RED is alerted, not shared: the reference only

    incident_services.answer_alert(actor=network["people"]["fr_analyst"], alert=green_alert, affected=False,
                                   note="No such DSO here")
    assert '<span class="badge bad">1</span>' in _panel(fr, "panel-alerts")


def test_alert_items_in_the_inbox_are_links(network, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        green = _report(network, tlp="green", technical_cooperation_requested=True)
        red = _report(network, tlp="red", technical_cooperation_requested=True)
    red_alert = Alert.objects.get(incident=red, organisation__code="fr-csirt")
    items, _ = inbox_for(network["people"]["fr_analyst"])
    links = {item.payload["reference"]: item.url for item in items if item.kind == "alert.raised"}
    assert links == {green.reference: f"/incidents/{green.pk}/#alerts",
                     red.reference: f"/incidents/board/#my-alert-{red_alert.pk}"}


# --- The Reserve: triage, decisions, offers ---------------------------------------------------------------


def test_enisa_triage_sees_the_requests_to_assess_with_their_clock(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    panel = _panel(login(reserve["people"]["enisa_triage"]), "panel-triage")
    assert "1 to assess" in panel
    assert f'href="/reserve/requests/{request.pk}/assess/">{request.reference}' in panel
    assert "left" in panel  # the 48-hour clock's time left
    assert _panel(login(reserve["people"]["de_analyst"]), "panel-triage") == ""


def test_the_contracting_authoritys_decision_maker_sees_the_requests_to_decide(reserve, login, settings):  # noqa: F811
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    panel = _panel(login(reserve["people"]["enisa_decision"]), "panel-decisions")
    assert "1 to decide" in panel and f'href="/reserve/requests/{request.pk}/decide/"' in panel
    assert _panel(login(reserve["people"]["ec_decision"]), "panel-decisions") == ""  # ENISA decides by default
    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"
    assert "1 to decide" in _panel(login(reserve["people"]["ec_decision"]), "panel-decisions")


def test_a_provider_sees_an_offer_waiting_with_its_clock_on_the_dashboard_and_in_the_inbox(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    engagement = reserve_services.engage_provider(actor=reserve["people"]["enisa_triage"], request=request,
                                                  provider=reserve["orgs"]["provider-acme"])
    staff = reserve["people"]["provider"]
    panel = _panel(login(staff), "panel-engagements")
    assert "1 to answer" in panel
    assert f'href="/reserve/engagements/{engagement.pk}/">{request.reference}' in panel
    assert re.search(r"\d+ h \d+ min left", panel)

    items, unread = inbox_for(staff)
    (offer,) = [item for item in items if item.kind == "provider.engaged"]
    assert offer.url == f"/reserve/engagements/{engagement.pk}/" and offer.unread and unread >= 1
    assert offer.label.startswith("Engagement offer waiting for your answer:") and " left (by " in offer.label
    page = unescape(login(staff).get(reverse("liaison:dashboard")).content.decode())
    assert "Engagement offer waiting for your answer" in page and "Nothing new" not in page
    # Another provider is told nothing of it.
    assert "1 to answer" not in _panel(login(reserve["people"]["beta"]), "panel-engagements")


def test_a_deployed_provider_sees_the_incident_only_once_the_requester_shares_it(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.DEPLOYED, reserve)
    incident = reserve["incident"]
    staff = login(reserve["people"]["provider"])
    panel = _panel(staff, "panel-engagements")
    assert f"{request.reference}</a>" in panel and incident.reference not in panel
    incident_services.share_incident(actor=reserve["people"]["de_analyst"], incident=incident,
                                     organisations=[reserve["orgs"]["provider-acme"]])
    panel = _panel(staff, "panel-engagements")
    assert f'href="/incidents/{incident.pk}/">{incident.reference}' in panel


def test_an_unrelated_analyst_sees_none_of_this_work(reserve, login, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        incident = _report(reserve, title="German grid wiper", hours_ago=30, technical_cooperation_requested=True)
    rf.request_in(RequestStatus.SUBMITTED, reserve)
    page = login(reserve["people"]["pt_analyst"]).get(reverse("liaison:dashboard")).content.decode()
    # CERT.PT is alerted (CSIRTs Network) to a TLP:AMBER incident it may not read: the reference, nothing more.
    assert "German grid wiper" not in page and "#deadlines" not in page and "RSV-" not in page
    assert f"/incidents/{incident.pk}/" not in page


# --- The menu fits the role ------------------------------------------------------------------------------


def _menu(client) -> list[tuple[str, str]]:
    html = client.get(reverse("liaison:dashboard")).content.decode()
    nav = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    return [(unescape(label), url) for url, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)]


def test_a_providers_menu_leads_to_its_engagements_and_the_incident_it_is_deployed_on(reserve, login):  # noqa: F811
    request = rf.request_in(RequestStatus.DEPLOYED, reserve)
    incident = reserve["incident"]
    staff = login(reserve["people"]["provider"])
    labels = [label for label, _ in _menu(staff)]
    assert ("Engagements", "/reserve/engagements/") in _menu(staff)
    assert ("Requests served", "/reserve/requests/") in _menu(staff)
    assert "Incidents" not in labels and "Crisis board" not in labels and "Reserve" not in labels
    assert not any(incident.reference in label for label in labels)  # not shared with the provider yet
    assert request.status == RequestStatus.DEPLOYED
    incident_services.share_incident(actor=reserve["people"]["de_analyst"], incident=incident,
                                     organisations=[reserve["orgs"]["provider-acme"]])
    assert (f"{incident.reference} (deployed)", f"/incidents/{incident.pk}/") in _menu(staff)
    dashboard = staff.get(reverse("liaison:dashboard")).content.decode()
    assert "Report an incident" not in dashboard and 'id="panel-crisis-board"' not in dashboard


def test_an_analysts_menu_has_the_incident_pages_and_the_reserve(reserve, login):  # noqa: F811
    labels = [label for label, _ in _menu(login(reserve["people"]["de_analyst"]))]
    assert labels[:5] == ["Dashboard", "Incidents", "Crisis board", "Reserve", "Blueprint"]
    assert "Engagements" not in labels
    hub = [label for label, _ in _menu(login(reserve["people"]["de_hub"]))]
    assert "Incidents" in hub and "Reserve" not in hub  # a national hub may not request Reserve support


def test_the_current_page_is_marked_in_the_menu(network, login):
    html = login(network["people"]["de_liaison"]).get(reverse("incidents:board")).content.decode()
    assert '<a href="/incidents/board/" aria-current="page">Crisis board</a>' in html
    assert '<a href="/incidents/" aria-current' not in html
