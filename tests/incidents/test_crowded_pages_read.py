"""The demo's 27-state crisis reads on a page: counts first, lists behind them, one date format, names not codes.

The demo is loaded once per test (it takes seconds); each test reads several pages of it as the
people who use them.
"""

import re

import pytest
from django.db.models import Count
from django.core.management import call_command

from incidents import policy, services, summaries
from incidents.models import Alert, Incident
from liaison.models import User
from reserve.demo import DEMO_ENTITY
from reserve.models import AssistanceRequest

pytestmark = pytest.mark.django_db

MONTH_NAMES = r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b"
# "2026-12-04 16:05 CET": the date, a 24-hour time and the zone (an abbreviation, or an offset where the zone has none).
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?(?P<zone> [A-Z]{2,5}\b| [+-]\d{2,4}\b)?")


@pytest.fixture
def demo(vocabularies, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the escalation's alerts follow its commit
        call_command("load_demo", "--quiet")
    crisis = Incident.objects.annotate(alerted=Count("alerts")).order_by("-alerted", "id").first()
    return {"incident": crisis, "request": AssistanceRequest.objects.get(affected_entity=DEMO_ENTITY)}


def _person(email, zone="Europe/Berlin"):
    user = User.objects.get(email=email)
    user.timezone = zone
    user.save(update_fields=["timezone"])
    return user


def _page(login, user, path) -> str:
    response = login(user).get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


def _visible_text(html: str) -> str:
    """The text a reader sees: no tags, and no machine attributes such as ``datetime="…"``."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


def test_every_date_time_on_the_pages_reads_one_way_with_its_zone(demo, login):
    analyst = _person("analyst@de-csirt.demo")
    pages = {
        "dashboard": "/", "incident": f"/incidents/{demo['incident'].pk}/", "board": "/incidents/board/",
        "incidents": "/incidents/", "blueprint": "/incidents/blueprint/",
        "reserve request": f"/reserve/requests/{demo['request'].pk}/",
    }
    seen = 0
    for name, path in pages.items():
        text = _visible_text(_page(login, analyst, path))
        assert not re.search(MONTH_NAMES, text), f"{name}: a date with a month name: {re.search(MONTH_NAMES, text)[0]!r}"
        for found in DATE_TIME.finditer(text):
            seen += 1
            assert found["zone"] and found["zone"].strip() in ("CET", "CEST"), f"{name}: {found[0]!r} has no zone"
    assert seen >= 10  # the pages do show date-times: the check above read them


def test_the_crisis_incident_page_counts_alerts_and_shares_and_indexes_its_sections(demo, login):
    incident = demo["incident"]
    alerts = list(incident.alerts.all())
    assert len(alerts) >= 20  # the demo's crisis: every member state's crisis authority alerted
    analyst = _person("analyst@de-csirt.demo")
    if policy.may_consent_to_network_sharing(analyst, incident):  # TLP:AMBER: the alerted networks read it once agreed
        services.consent_to_network_sharing(actor=analyst, incident=incident)
    html = _page(login, analyst, f"/incidents/{incident.pk}/")

    index = html[html.index('<nav class="page-index"'):]
    index = index[:index.index("</nav>")]
    for anchor in ("#facts", "#deadlines", "#crisis", "#alerts", "#timeline", "#observables", "#shares"):
        assert f'href="{anchor}"' in index
    assert html.index('id="next-actions"') < html.index('class="page-index"') < html.index('id="facts"')

    summary = ", ".join(f"<strong>{n}</strong> {word}" for word, n in summaries.alert_counts(a.state for a in alerts))
    assert f'<p class="alert-summary">Alerts: {summary}</p>' in html
    assert f"All {len(alerts)} alerts, by organisation" in html
    assert '<details class="alerts-details">' in html  # many alerts, none for the reader to answer: folded

    shares = list(incident.shares.all())
    assert len(shares) > 8
    assert '<details class="shares-details">' in html
    for group in summaries.share_groups(shares):
        assert f"<strong>{group.label}</strong>" in html
        assert f'data-share-kind="{group.kind}"' in html
    assert html.count(">Unshare</button>") == len(shares)


def test_the_board_counts_each_incidents_alerts_by_answer_with_the_list_behind(demo, login):
    incident = demo["incident"]
    Alert.objects.filter(pk__in=list(incident.alerts.values_list("pk", flat=True)[:3])).update(state="acknowledged")
    html = _page(login, _person("analyst@de-csirt.demo"), "/incidents/board/")  # the originator sees every alert
    card = html[html.index(f'id="board-incident-{incident.pk}"'):]
    card = card[:card.index("</article>")]
    states = [a.state for a in incident.alerts.all()]
    shown = re.search(r'<summary class="alert-counts">(.*?)</summary>', card, flags=re.S)[1]
    assert re.sub(r"<[^>]+>", "", shown) == " · ".join(f"{n} {w}" for w, n in summaries.alert_counts(states))
    assert "3 acknowledged" in shown
    assert '<details class="alert-chips-details">' in card  # folded: more than a handful
    assert card.count("data-alert-org=") == len(states)


def test_pages_name_communities_rules_and_organisations_instead_of_their_codes(demo, login):
    analyst = _person("analyst@de-csirt.demo")
    blueprint = _visible_text(_page(login, analyst, "/incidents/blueprint/"))
    assert "EU-CyCLONe" in blueprint and "CSIRTs Network" in blueprint
    assert "community:" not in blueprint and "crisis_manager" not in blueprint

    incident_page = _visible_text(_page(login, analyst, f"/incidents/{demo['incident'].pk}/"))
    assert not re.search(r"\[l\d-[a-z-]+\]", incident_page)  # no rule code after the explanation
    assert "large-scale cybersecurity incident" in incident_page

    services.consent_to_network_sharing(actor=analyst, incident=demo["incident"])  # a share with every authority
    board = _page(login, analyst, "/incidents/board/")
    stream = _visible_text(board[board.index('id="board-stream"'):])
    codes = set(demo["incident"].alerts.values_list("organisation__code", flat=True))
    assert not [code for code in codes if f"({code}," in stream]
    assert "incident.network_consent" not in stream and "shared with the alerted networks" in stream
    assert re.search(r"with [^\n]+ and \d+ others", stream)  # 56 recipients, one line


def test_alert_counts_put_the_open_ones_first_and_fold_seen_into_waiting():
    states = ["acknowledged"] * 24 + ["not_affected"] * 3 + ["notified", "seen"]
    assert summaries.alert_counts(states) == [("waiting", 2), ("acknowledged", 24), ("not affected", 3)]
    assert summaries.alert_counts([]) == []


def test_consecutive_alerts_raised_for_one_incident_are_one_line():
    class E:
        def __init__(self, kind, incident):
            self.kind, self.payload = kind, {"incident": incident}

    events = [E("alert.raised", 1)] * 29 + [E("incident.escalated", 1), E("alert.raised", 2), E("alert.raised", 1)]
    assert [(e.kind, n) for e, n in summaries.collapse_alerts_raised(events)] == [
        ("alert.raised", 29), ("incident.escalated", 1), ("alert.raised", 1), ("alert.raised", 1)]


@pytest.mark.parametrize("names,sentence", [
    ([], ""), (["CERT.at"], "CERT.at"), (["CERT.at", "CERT.be"], "CERT.at and CERT.be"),
    (["A", "B", "C", "D"], "A, B, C and D"), ([f"org {n}" for n in range(56)], "org 0, org 1, org 2 and 53 others"),
])
def test_a_long_list_of_recipients_reads_as_one_line(names, sentence):
    assert summaries.listed(names) == sentence
