"""The crisis board: what each officer sees on it, its alert buttons and situation updates, its cost."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services
from incidents.models import Alert, Incident, Sector, TimelineEntry
from incidents.selectors import timeline_visible_to
from liaison.models import Event, EventAudience
from tests import factories
from tests.factories import member_state

# Escalation runs on commit (the engine after a committed change): transactional tests.
pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def officers(network):
    """Liaison officers of DE (crisis authority), ENISA and PT (its NIS2 single point of contact: in neither network,
    so no escalation alerts it)."""
    pt_spoc = factories.organisation("pt-spoc", "spoc", "PT", "Portugal NIS2 single point of contact")
    pt = factories.person("liaison@pt-spoc.example", pt_spoc, ["liaison_officer"])
    enisa = factories.person("liaison@enisa.example", network["orgs"]["enisa"], ["liaison_officer"])
    return {"de": network["people"]["de_liaison"], "enisa": enisa, "pt": pt}


def _report(network, title, *, share_with=(), who="de_analyst", org="de-csirt", **facts):
    facts.setdefault("aware_at", timezone.now() - timedelta(hours=2))
    reporter = network["people"][who]
    incident = services.report_incident(actor=reporter, organisation=network["orgs"][org], title=title, **facts)
    if share_with:
        services.share_incident(actor=reporter, incident=incident, organisations=[network["orgs"][o] for o in share_with])
    incident.refresh_from_db()
    return incident


def _large_scale(network, title="Grid operator wiper", **facts):
    """Level 2 by the default Blueprint (national capacity exceeded): EU-CyCLONe is alerted, and shared
    once the originator agrees (a TLP:AMBER incident: here it agrees at once)."""
    facts.setdefault("affected_member_states", [member_state("DE"), member_state("FR")])
    facts.setdefault("sectors", [Sector.objects.get(code="energy.electricity")])
    incident = _report(network, title, national_capacity_exceeded=True, severity="high", **facts)
    assert incident.crisis_level == 2
    if incident.tlp == "amber":
        services.consent_to_network_sharing(actor=incident.reported_by, incident=incident)
    return incident


def _levels(response) -> dict[int, list[str]]:
    return {g["number"]: [row["incident"].title for row in g["rows"]] for g in response.context["levels"]}


def _part(client, name):
    return client.get("/incidents/board/parts/", {"part": name})


def _tile(html: str, code: str) -> str:
    return re.search(rf'<g class="tile ([^"]+)"[^>]*data-ms="{code}"', html).group(1)


# --- What the board shows --------------------------------------------------------------------


def test_board_groups_the_active_incidents_the_officer_may_see_by_crisis_level(network, officers, login):
    national = _report(network, "Phishing wave at a ministry", share_with=["de-authority"])
    large = _large_scale(network)
    _report(network, "PT hospital ransomware", who="pt_analyst", org="pt-csirt")
    resolved = _report(network, "Resolved DDoS", share_with=["de-authority"])
    services.change_status(actor=network["people"]["de_analyst"], incident=resolved, status="resolved", reason="Done")

    response = login(officers["de"]).get("/incidents/board/")

    assert response.status_code == 200
    assert _levels(response) == {3: [], 2: [large.title], 1: [], 0: [national.title]}
    page = response.content.decode()
    assert "Level 2</span> large-scale cybersecurity incident" in page
    assert large.reference in page and "PT hospital ransomware" not in page and "Resolved DDoS" not in page
    card = page[page.index(f'id="board-incident-{large.pk}"'):]
    assert '<span class="ms" title="Germany">DE</span>' in card and "Electricity" in card
    assert "BSI crisis management: Seen" in card and "ENISA: Notified" in card  # its alerts and their states
    assert _tile(page, "DE") == "lvl-2" and _tile(page, "FR") == "lvl-2" and _tile(page, "PT") == "lvl-none"
    assert 'data-live-after="' in page and "js/live.js" in page and "js/board.js" in page


def test_pt_officer_sees_nothing_of_a_de_only_incident_anywhere_on_the_board(network, officers, login):
    incident = _large_scale(network, affected_member_states=[member_state("DE"), member_state("PT")])
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    client = login(officers["pt"])

    page = client.get("/incidents/board/").content.decode()
    parts = {name: _part(client, name).content.decode() for name in ("alerts", "levels", "map", "charts", "stream")}

    for html in [page, *parts.values()]:
        assert incident.reference not in html and incident.title not in html
    assert _tile(parts["map"], "DE") == "lvl-none" and _tile(parts["map"], "PT") == "lvl-none"
    assert 'data-count="1"' not in parts["charts"]
    assert "Nothing yet" in parts["stream"]  # not even that something happened
    assert "No alert for your organisation" in parts["alerts"]
    # Acting on it answers as if it did not exist.
    assert client.post(f"/incidents/board/{incident.pk}/situation/", {"text": "Seen here too"}).status_code == 404
    assert client.post(f"/incidents/board/alerts/{alert.pk}/answer/", {"answer": "acknowledged"}).status_code == 404
    assert not TimelineEntry.objects.filter(incident=incident).exists()
    assert Alert.objects.get(pk=alert.pk).state == "notified"


def test_enisa_sees_the_escalated_incident_in_its_map_stream_and_charts(network, officers, login):
    incident = _large_scale(network, tlp="green")  # shared with the network as it escalates: it sees the escalation
    client = login(officers["enisa"])
    parts = {name: _part(client, name) for name in ("map", "charts", "stream")}

    assert _tile(parts["map"].content.decode(), "DE") == "lvl-2"
    charts = parts["charts"].context
    assert {b["label"]: b["count"] for b in charts["level_bars"]}["2 — large-scale cybersecurity incident"] == 1
    assert [(b["label"], b["count"], b["width"]) for b in charts["sector_bars"]] == [("Energy", 1, 100.0)]
    kinds = [item["event"].kind for item in parts["stream"].context["stream"]]
    assert "incident.escalated" in kinds and "alert.raised" in kinds
    assert f"{incident.reference}</a>\n      escalated: level 0 → 2" in parts["stream"].content.decode()


def test_board_parts_come_together_for_htmx_and_an_unknown_part_is_named(network, officers, login):
    client = login(officers["de"])
    both = client.get("/incidents/board/parts/", {"part": ["stream", "map"]}).content.decode()
    assert both.count('hx-swap-oob="true"') == 2 and 'id="board-map"' in both and 'id="board-stream"' in both
    unknown = client.get("/incidents/board/parts/", {"part": ["map", "secrets"]})
    assert unknown.status_code == 400
    assert unknown.content.decode() == "Unknown board part secrets: choose from alerts, levels, map, charts, stream."
    assert client.get("/incidents/board/parts/").status_code == 400


def test_the_board_and_its_parts_need_a_login(network):
    anonymous = Client()
    for url in ("/incidents/board/", "/incidents/board/parts/?part=levels"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_times_on_the_board_are_in_the_officers_time_zone(network, officers, login):
    _large_scale(network)
    officers["de"].timezone = "Asia/Tokyo"
    officers["de"].save(update_fields=["timezone"])
    escalated = Event.objects.get(kind="incident.escalated")
    stream = _part(login(officers["de"]), "stream").content.decode()
    shown = timezone.localtime(escalated.created_at, timezone=__import__("zoneinfo").ZoneInfo("Asia/Tokyo"))
    assert f'{shown:%Y-%m-%d %H:%M} JST' in stream


# --- Alerts ---------------------------------------------------------------------------------


def test_showing_the_board_marks_the_organisations_alerts_seen_and_only_theirs(network, officers, login):
    incident = _large_scale(network)
    login(officers["de"]).get("/incidents/board/")
    states = dict(Alert.objects.filter(incident=incident).values_list("organisation__code", "state"))
    assert states.pop("de-authority") == "seen" and set(states.values()) == {"notified"} and "enisa" in states
    assert Event.objects.filter(kind="alert.seen").count() == 1


def test_officer_acknowledges_from_the_board_and_others_alerts_are_404(network, officers, login):
    incident = _large_scale(network)
    alerts = {a.organisation.code: a for a in Alert.objects.filter(incident=incident).select_related("organisation")}
    de, enisa = login(officers["de"]), login(officers["enisa"])

    # ENISA sees the incident and its alerts, but only answers its own: DE's alert is not there for it.
    refused = enisa.post(f"/incidents/board/alerts/{alerts['de-authority'].pk}/answer/", {"answer": "acknowledged"})
    assert refused.status_code == 404
    assert Alert.objects.get(pk=alerts["de-authority"].pk).state == "notified"

    answered = de.post(f"/incidents/board/alerts/{alerts['de-authority'].pk}/answer/", {"answer": "acknowledged"}, **HTMX)
    assert answered.status_code == 200
    alert = Alert.objects.get(pk=alerts["de-authority"].pk)
    assert (alert.state, alert.answered_by) == ("acknowledged", officers["de"])
    assert 'id="board-alerts"' in answered.content.decode() and "Answered" in answered.content.decode()
    assert Event.objects.filter(kind="alert.acknowledged", subject_id=str(alert.pk)).count() == 1

    # Without htmx the form posts and comes back to the board.
    plain = enisa.post(f"/incidents/board/alerts/{alerts['enisa'].pk}/answer/",
                       {"answer": "not_affected", "note": "No ENISA systems involved"})
    assert plain.status_code == 302 and plain["Location"] == "/incidents/board/"
    assert Alert.objects.get(pk=alerts["enisa"].pk).state == "not_affected"
    # And ENISA's board shows DE's acknowledgement on the incident.
    levels = _part(enisa, "levels").content.decode()
    assert 'data-alert-org="de-authority" data-state="acknowledged"' in levels


def test_not_affected_without_a_note_is_refused_clearly_and_changes_nothing(network, officers, login):
    incident = _large_scale(network)
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    client = login(officers["de"])
    client.get("/incidents/board/")
    events_before = Event.objects.count()

    for extra in ({}, HTMX):
        response = client.post(f"/incidents/board/alerts/{alert.pk}/answer/", {"answer": "not_affected", "note": "  "},
                               **extra)
        assert response.status_code == 400
        assert "Say in a few words why your organisation is not affected." in response.content.decode()
    unknown = client.post(f"/incidents/board/alerts/{alert.pk}/answer/", {"answer": "maybe"}, **HTMX)
    assert unknown.status_code == 400 and "Answer acknowledged or not_affected." in unknown.content.decode()

    alert.refresh_from_db()
    assert (alert.state, alert.answered_at, alert.note) == ("seen", None, "")
    assert Event.objects.count() == events_before


def test_board_posts_need_a_csrf_token(network, officers):
    incident = _large_scale(network)
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    client = Client(enforce_csrf_checks=True)
    from tests.conftest import verified_client

    client.cookies = verified_client(officers["de"]).cookies
    assert client.post(f"/incidents/board/alerts/{alert.pk}/answer/", {"answer": "acknowledged"}).status_code == 403
    assert client.post(f"/incidents/board/{incident.pk}/situation/", {"text": "Update"}).status_code == 403
    assert Alert.objects.get(pk=alert.pk).state == "notified"
    assert not TimelineEntry.objects.filter(incident=incident).exists()


# --- Situation updates ------------------------------------------------------------------------


def test_situation_update_from_the_board_reaches_the_incidents_whole_audience(network, officers, login):
    incident = _large_scale(network)
    de = login(officers["de"])

    response = de.post(f"/incidents/board/{incident.pk}/situation/",
                       {"text": "Substations back on manual control.", "impact_severity": "yellow",
                        "impact_outlook": "improving"}, **HTMX)

    assert response.status_code == 200 and "Situation update posted" in response.content.decode()
    entry = TimelineEntry.objects.get(incident=incident)
    assert (entry.kind, entry.tlp, entry.author, entry.organisation.code) == (
        "situation", incident.tlp, officers["de"], "de-authority")
    assert (entry.text, entry.impact_severity, entry.impact_outlook) == (
        "Substations back on manual control.", "yellow", "improving")
    event = Event.objects.get(kind="timeline.added")
    audience = set(EventAudience.objects.filter(event=event).values_list("group__name", flat=True))
    assert {"org:de-csirt", "org:de-authority", "org:enisa", "org:ec"} <= audience
    # Everyone who sees the incident reads it, on the incident page and on their board.
    for person in (officers["enisa"], network["people"]["de_analyst"]):
        assert timeline_visible_to(person, incident).filter(pk=entry.pk).exists()
    levels = _part(login(officers["enisa"]), "levels").content.decode()
    assert "Substations back on manual control." in levels and "Outlook (next 6 hours): Improving" in levels
    # The update restarts the level's situation-update clock (12 h at level 2) from its own time.
    row = next(r for g in login(officers["enisa"]).get("/incidents/board/").context["levels"] for r in g["rows"])
    assert row["situation_due"] == entry.created_at + timedelta(hours=12)


def test_empty_situation_update_is_refused_and_nothing_is_written(network, officers, login):
    incident = _large_scale(network)
    client = login(officers["de"])
    client.get("/incidents/board/")  # showing the board marks the alert seen: an event of its own
    events_before = Event.objects.count()

    htmx = client.post(f"/incidents/board/{incident.pk}/situation/", {"text": "   ", "impact_severity": "yellow"}, **HTMX)
    plain = client.post(f"/incidents/board/{incident.pk}/situation/", {"text": ""})
    bad_choice = client.post(f"/incidents/board/{incident.pk}/situation/", {"text": "x", "impact_outlook": "sideways"}, **HTMX)

    for response in (htmx, plain):
        assert response.status_code == 400
        assert "Write the situation update: what changed, what is being done." in response.content.decode()
    assert bad_choice.status_code == 400 and "sideways is not one of the available choices" in bad_choice.content.decode()
    assert not TimelineEntry.objects.filter(incident=incident).exists()
    assert Event.objects.count() == events_before


# --- Cost -------------------------------------------------------------------------------------


def test_board_costs_the_same_number_of_queries_for_3_or_30_incidents(network, officers, login,
                                                                     django_assert_max_num_queries):
    energy = Sector.objects.get(code="energy.electricity")
    for n in range(3):
        _large_scale(network, f"Incident {n}", sectors=[energy])
    client = login(officers["de"])
    client.get("/incidents/board/")  # marks the alerts seen (one write each) and settles the session
    with CaptureQueriesContext(connection) as with_three:
        response = client.get("/incidents/board/")
    baseline = len(with_three)
    assert sum(len(g["rows"]) for g in response.context["levels"]) == 3
    for n in range(3, 30):
        _large_scale(network, f"Incident {n}", sectors=[energy])
    client.get("/incidents/board/")

    with django_assert_max_num_queries(baseline):
        response = client.get("/incidents/board/")
    assert sum(len(g["rows"]) for g in response.context["levels"]) == 25  # a page per level; the rest linked
    assert response.context["levels"][1]["more"] == 5
    assert Incident.objects.count() == 30


def test_recent_events_say_one_line_per_escalation_with_the_number_alerted(network, officers, login):
    incident = _large_scale(network)
    stream = _part(login(network["people"]["de_analyst"]), "stream").content.decode()  # the originator: every alert
    alerted = Alert.objects.filter(incident=incident).count()
    assert alerted > 2
    assert stream.count('data-kind="alert.raised"') == 1 and f"{alerted} organisations alerted" in stream
