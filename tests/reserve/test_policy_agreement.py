"""Pages, API and buttons agree with reserve.policy, for every kind of person and token, capability and action.

Generated: the names come from the workflow tables (every request and engagement action a
person can take, ``workflow.CONSEQUENTIAL`` aside) and the ``Capabilities`` fields. Each name
has a probe registered in ``PROBES`` that says how the page, the API and the page's buttons
show it; a new action or capability without a probe fails ``test_every_action_and_capability_has_a_probe``,
so covering it means registering a probe, not editing the checks.

The rules checked for each person × name × request state:
- a request the person may not see: 404 on the page and on the API, no button;
- otherwise the button (or link) is shown if and only if the policy says yes, the API answers
  2xx if and only if the policy says yes (actions are really taken, then rolled back), and a
  page gated by a capability answers 200 if and only if the policy says yes.
"""

import json
from collections.abc import Callable
from datetime import timezone as dt_timezone
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.test import Client

from csoa_portal.models import ApiToken
from reserve import policy, selectors, services
from reserve.models import ProviderProfile
from reserve.workflow import CONSEQUENTIAL, ENGAGEMENT_TRANSITIONS, REQUEST_TRANSITIONS, RequestStatus
from tests import factories
from tests.conftest import verified_client
from tests.reserve import factories as rf

pytestmark = [pytest.mark.django_db, pytest.mark.exhaustive]

API = "/api/v1/assistance-requests/"
PERSONS = [  # the demo's kinds of people
    "de_analyst",      # the requester's analyst
    "de_spoc",         # its NIS2 single point of contact
    "enisa_triage",    # ENISA triage
    "enisa_admin",     # ENISA's organisation admin (a network admin)
    "enisa_decision",  # ENISA's decision-maker: the contracting authority by default
    "ec_decision",     # the Commission's decision-maker
    "ec_liaison",      # the Commission's liaison officer
    "provider",        # staff of the provider engaged (acme)
    "pt_analyst",      # an analyst of an unrelated member state
]
TOKENS = ["de-csirt", "enisa"]  # SOC tooling of the requester and of the contracting authority
STATES = [RequestStatus.DRAFT, RequestStatus.AWAITING_SPOC, RequestStatus.SUBMITTED, RequestStatus.INFO_REQUESTED,
          RequestStatus.ASSESSED, RequestStatus.APPROVED, RequestStatus.DEPLOYED, RequestStatus.CLOSED,
          RequestStatus.REJECTED]


# --- Who acts, and on what -------------------------------------------------------------------------------

@dataclass
class Actor:
    name: str
    user: object
    page: Client | None  # a browser session; None for a token
    api: Client
    pages: dict = field(default_factory=dict)  # GET url -> (status, body), for one case (actions are rolled back)

    def get(self, url: str) -> tuple[int, str]:
        if url not in self.pages:
            response = self.page.get(url)
            self.pages[url] = (response.status_code, response.content.decode() if response.status_code == 200 else "")
        return self.pages[url]

    def actions(self, url: str) -> list[str]:
        """The actions an API object offers (none when the API answers anything but 200)."""
        key = ("api", url)
        if key not in self.pages:
            response = self.api.get(url)
            self.pages[key] = response.json()["actions"] if response.status_code == 200 else []
        return self.pages[key]


@dataclass
class Case:
    request: object = None
    engagement: object = None

    def url(self, suffix: str = "") -> str:
        return f"/reserve/requests/{self.request.pk}/{suffix}"


@dataclass(frozen=True)
class Outcome:
    """What the person met: page status (``gated``: the page itself is the capability), API status, buttons."""

    page: int | None = None
    gated: bool = False
    api: int | None = None
    shown: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Probe:
    scope: str  # "global", "request" or "engagement"
    expected: Callable  # (user, case) -> bool: the policy's answer
    check: Callable  # (actor, case) -> Outcome


def _send(client, method: str, url: str, body=None, *, rollback: bool = False) -> int:
    """One call; with ``rollback`` whatever it wrote is undone (an action is tried, not kept)."""
    with transaction.atomic():
        if method == "get":
            response = client.get(url)
        else:
            response = getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")
        if rollback:
            transaction.set_rollback(True)
    return response.status_code


def _has(actor: Actor, url: str, marker: str) -> bool:
    assert actor.page is not None, "a token has no pages"
    """Whether the page at ``url`` shows ``marker`` (a page the person cannot open shows nothing)."""
    return marker in actor.get(url)[1]


def _form(url: str) -> str:
    return f'action="{url}"'


def _link(url: str) -> str:
    return f'href="{url}"'


# --- Probes: request actions ------------------------------------------------------------------------------

# action: (page with its button, the button's URL suffix, marker kind, API suffix, API body)
REQUEST_ACTIONS = {
    "submit": ("", "submit/", _form, "submit/", {}),
    "forward": ("", "forward/", _form, "forward/", {"note": "Endorsed"}),
    "return": ("", "return/", _form, "return/", {"reason": "Incomplete"}),
    "withdraw": ("", "withdraw/", _form, "withdraw/", {"reason": "Handled nationally"}),
    "request_info": ("assess/", "ask/", _form, "request-info/", {"question": "Which PLC vendor?"}),
    "answer_info": ("", "answer/", _form, "answer-info/", {"answer": "Siemens S7"}),
    "assess": ("assess/", "assess/", _form, "assess/",
               {"complete": True, "recommendation": "approve", "reasons": "Essential entity."}),
    "approve": ("decide/", "decide/", _form, "decide/", {"outcome": "approved", "reasons": "Meets Art. 15"}),
    "reject": ("decide/", "decide/", _form, "decide/", {"outcome": "rejected", "reasons": "Out of scope"}),
    "close": ("", "close/", _form, "close/", {}),
    "report": ("", "report/", _link, "report/",
               {"service_provided": "Forensics", "results": "Restored", "lessons_learned": "Segment earlier"}),
}


def _request_action_probe(action: str) -> Probe:
    page, button, marker, api, body = REQUEST_ACTIONS[action]

    def check(actor: Actor, case: Case) -> Outcome:
        shown = [action in actor.actions(f"{API}{case.request.pk}/")]  # the API's buttons: its list of actions
        if actor.page is None:
            status = _send(actor.api, "post", f"{API}{case.request.pk}/{api}", body, rollback=True)
            return Outcome(api=status, shown=tuple(shown))
        shown.append(_has(actor, case.url(page), marker(case.url(button))))
        if action == "approve":  # the Decide link on the request and in the triage queue lead to the same form
            shown.append(_has(actor, case.url(), _link(case.url("decide/"))))
            if case.request.status in selectors.OPEN_FOR_TRIAGE:
                shown.append(_has(actor, "/reserve/triage/", _link(case.url("decide/"))))
        status = _send(actor.api, "post", f"{API}{case.request.pk}/{api}", body, rollback=True)
        return Outcome(api=status, shown=tuple(shown))

    return Probe("request", lambda user, case: action in policy.request_actions(user, case.request), check)


# --- Probes: engagement actions -------------------------------------------------------------------------------

def _engagement_action_probe(action: str) -> Probe:
    body = {} if action == "accept" else {"reason": "No staff free"}

    def check(actor: Actor, case: Case) -> Outcome:
        page = f"/reserve/engagements/{case.engagement.pk}/"
        shown = [action in actor.actions(f"/api/v1/engagements/{case.engagement.pk}/")]
        if actor.page is not None:
            shown.append(_has(actor, page, _form(f"{page}{action}/")))
        status = _send(actor.api, "post", f"/api/v1/engagements/{case.engagement.pk}/{action}/", body, rollback=True)
        return Outcome(api=status, shown=tuple(shown))

    return Probe("engagement", lambda user, case: action in policy.engagement_actions(user, case.engagement), check)


AGREEMENT_BODY = {"template_reference": "ENISA-RSV-SA-2025", "agreement_date": "2020-01-01",
                  "liability_accepted": True}


def _check_confirm_agreement(actor: Actor, case: Case) -> Outcome:
    """CSoA Art. 16: the provider's and the user's confirmation of the specific agreement (a form on the page)."""
    page = f"/reserve/engagements/{case.engagement.pk}/"
    shown = [("confirm_agreement" in actor.actions(f"/api/v1/engagements/{case.engagement.pk}/"))]
    if actor.page is not None:
        shown.append(_has(actor, page, _form(f"{page}agreement/")))
    decided_at = case.engagement.request.decided_at
    # The day of the approval as the server reads the date: in the person's time zone for a session, UTC for a
    # token (between 23:00 and 24:00 UTC the two are different days).
    zone = ZoneInfo(actor.user.timezone) if actor.page is not None and actor.user.timezone else dt_timezone.utc
    body = {**AGREEMENT_BODY, "agreement_date": decided_at.astimezone(zone).date().isoformat()
            if decided_at else AGREEMENT_BODY["agreement_date"]}
    status = _send(actor.api, "post", f"/api/v1/engagements/{case.engagement.pk}/agreement/", body, rollback=True)
    return Outcome(api=status, shown=tuple(shown))


CONFIRM_AGREEMENT = Probe(
    "engagement", lambda user, case: "confirm_agreement" in policy.engagement_actions(user, case.engagement),
    _check_confirm_agreement)


def _check_offer(actor: Actor, case: Case) -> Outcome:
    shown = (_has(actor, case.url("ranking/"), _form(case.url("engage/"))),) if actor.page else ()
    status = _send(actor.api, "post", f"{API}{case.request.pk}/engagements/", {"provider": "provider-beta"},
                   rollback=True)
    return Outcome(api=status, shown=shown)


OFFER = Probe("request", lambda user, case: policy.may_engage(user, case.request), _check_offer)


# --- Probes: capabilities -----------------------------------------------------------------------------------

def _capability(name: str) -> Callable:
    return lambda user, case: getattr(policy.capabilities(user), name)


def _page(actor: Actor, url: str) -> int | None:
    return actor.get(url)[0] if actor.page is not None else None


def _check_triage_queue(actor, case):
    return Outcome(page=_page(actor, "/reserve/triage/"), gated=True,
                   api=_send(actor.api, "get", "/api/v1/reserve-triage-queue/"),
                   shown=(_has(actor, "/reserve/requests/", _link("/reserve/triage/")),) if actor.page else ())


def _check_dashboard(actor, case):
    return Outcome(page=_page(actor, "/reserve/dashboard/"), gated=True,
                   shown=(_has(actor, "/reserve/requests/", _link("/reserve/dashboard/")),) if actor.page else ())


def _check_registry_view(actor, case):
    listed = actor.api.get("/api/v1/reserve-providers/").json()["results"]
    shown = [len(listed) == ProviderProfile.objects.count()]  # the whole registry, or only one's own
    if actor.page:
        shown.append(_has(actor, "/reserve/requests/", _link("/reserve/providers/")))
    return Outcome(page=_page(actor, "/reserve/providers/"), gated=True, shown=tuple(shown))


def _check_registry_edit(actor, case):
    status = _send(actor.api, "patch", "/api/v1/reserve-providers/provider-beta/", {"response_hours": 6},
                   rollback=True)
    shown = (_has(actor, "/reserve/providers/", _link("/reserve/providers/new/")),) if actor.page else ()
    return Outcome(page=_page(actor, "/reserve/providers/new/"), gated=True, api=status, shown=shown)


def _check_engagements(actor, case):
    if actor.page is None:
        return Outcome()
    return Outcome(shown=(_has(actor, "/", 'id="panel-engagements"'),
                          _has(actor, "/reserve/engagements/", "Your organisation's engagements")))


def _check_ranking(actor, case):
    return Outcome(page=_page(actor, case.url("ranking/")), gated=True,
                   api=_send(actor.api, "get", f"{API}{case.request.pk}/ranking/"),
                   shown=(_has(actor, case.url(), _link(case.url("ranking/"))),) if actor.page else ())


def _check_assessments(actor, case):
    response = actor.api.get(f"{API}{case.request.pk}/")
    if response.status_code != 200:
        return Outcome(api=response.status_code, page=_page(actor, case.url()))
    if not case.request.assessments.exists():
        return Outcome()  # nothing to show or hide yet
    shown = [bool(response.json()["assessments"])]
    if actor.page:
        shown.append(_has(actor, case.url(), "Essential entity, severe impact."))
    return Outcome(shown=tuple(shown))


def _check_gated_page(suffix: str):
    return lambda actor, case: Outcome(page=_page(actor, case.url(suffix)), gated=True)


CAPABILITY_PROBES = {
    "triage_queue": Probe("global", _capability("triage_queue"), _check_triage_queue),
    "dashboard": Probe("global", _capability("dashboard"), _check_dashboard),
    "registry_view": Probe("global", _capability("registry_view"), _check_registry_view),
    "registry_edit": Probe("global", _capability("registry_edit"), _check_registry_edit),
    "engagements": Probe("global", _capability("engagements"), _check_engagements),
    "ranking": Probe("request", _capability("ranking"), _check_ranking),
    "engage": OFFER,
    "assessments": Probe("request", _capability("assessments"), _check_assessments),
    "triage": Probe("request", _capability("triage"), _check_gated_page("assess/")),
    "decisions": Probe("request", _capability("decisions"), _check_gated_page("decide/")),
}

PROBES: dict[str, Probe] = {
    **{f"request.{a}": _request_action_probe(a) for a in REQUEST_ACTIONS},
    **{f"engagement.{a}": _engagement_action_probe(a) for a in ("accept", "decline", "cancel")},
    "engagement.offer": OFFER,
    "engagement.confirm_agreement": CONFIRM_AGREEMENT,
    **{f"capability.{c}": p for c, p in CAPABILITY_PROBES.items()},
}


def _registered_names() -> set[str]:
    return ({f"request.{a}" for a in REQUEST_TRANSITIONS if a not in CONSEQUENTIAL}
            | {f"engagement.{a}" for a in ENGAGEMENT_TRANSITIONS if a not in CONSEQUENTIAL}
            | {f"capability.{c}" for c in policy.Capabilities.names()})


# --- The network, the actors and the checks --------------------------------------------------------------

@pytest.fixture
def actors(reserve, token_for):
    people = reserve["people"]
    people["ec_liaison"] = factories.person("liaison@ec.example", reserve["orgs"]["ec"], ["liaison_officer"])
    found = [Actor(name, people[name], verified_client(people[name]), verified_client(people[name]))
             for name in PERSONS]
    for code in TOKENS:
        raw = token_for(reserve["orgs"][code])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        principal = ApiToken.objects.filter(organisation=reserve["orgs"][code]).latest("pk").principal
        found.append(Actor(f"token:{code}", principal, None, client))
    return found


def _disagreements(probe_names, actors, case: Case) -> list[str]:
    found = []
    for actor in actors:
        actor.pages.clear()
        if case.request is not None:
            visible = selectors.requests_visible_to(actor.user).filter(pk=case.request.pk).exists()
        if case.engagement is not None:
            engagement_visible = selectors.engagements_visible_to(actor.user).filter(pk=case.engagement.pk).exists()
        for name in probe_names:
            probe = PROBES[name]
            if probe.scope == "engagement" and case.engagement is None:
                continue
            seen = visible if probe.scope == "request" else engagement_visible if probe.scope == "engagement" else True
            outcome = probe.check(actor, case)
            where = f"{actor.name} × {name}" + (f" × {case.request.status}" if case.request else "")
            if not seen:
                if outcome.page not in (None, 404) or outcome.api not in (None, 404) or any(outcome.shown):
                    found.append(f"{where}: invisible but page {outcome.page}, API {outcome.api}, "
                                 f"shown {outcome.shown}")
                continue
            expected = probe.expected(actor.user, case)
            if any(shown != expected for shown in outcome.shown):
                found.append(f"{where}: policy {expected}, buttons/links {outcome.shown}")
            if outcome.api is not None and (200 <= outcome.api < 300) != expected:
                found.append(f"{where}: policy {expected}, API {outcome.api}")
            if outcome.gated and outcome.page is not None and (outcome.page == 200) != expected:
                found.append(f"{where}: policy {expected}, page {outcome.page}")
    return found


def _case(state, reserve) -> Case:
    p = reserve["people"]
    if state == RequestStatus.APPROVED:  # with a live offer to acme, so the provider has something to answer
        request = rf.request_in(RequestStatus.APPROVED, reserve)
        engagement = services.engage_provider(actor=p["enisa_triage"], request=request,
                                              provider=reserve["orgs"]["provider-acme"])
        request.refresh_from_db()
        return Case(request, engagement)
    # Deployed without the specific agreement yet, so that both sides have it to confirm (CSoA Art. 16).
    request = rf.request_in(state, reserve, agreement=state != RequestStatus.DEPLOYED)
    return Case(request, request.engagements.order_by("pk").first())


# --- The tests -------------------------------------------------------------------------------------------------

def test_every_action_and_capability_has_a_probe():
    assert _registered_names() - set(PROBES) == set(), "register a probe in PROBES for each new action or capability"


@pytest.mark.parametrize("state", STATES)
def test_pages_api_and_buttons_agree_with_the_policy_on_a_request(reserve, actors, state):
    case = _case(state, reserve)
    names = sorted(n for n in _registered_names() if PROBES[n].scope != "global")
    assert _disagreements(names, actors, case) == []


def test_pages_api_and_links_agree_with_the_policy_on_what_is_not_about_one_request(reserve, actors):
    rf.request_in(RequestStatus.SUBMITTED, reserve)  # something in the queue
    names = sorted(n for n in _registered_names() if PROBES[n].scope == "global")
    assert _disagreements(names, actors, Case()) == []


# --- The disagreements that were found, each named ----------------------------------------------------------

def test_ranking_page_and_api_agree_for_the_commissions_decision_maker_and_enisas_admin(reserve, login):
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    for who in ("ec_decision", "enisa_admin"):
        session = login(reserve["people"][who])
        assert session.get(f"/reserve/requests/{request.pk}/ranking/").status_code == 403, who
        assert session.get(f"{API}{request.pk}/ranking/").status_code == 403, who
    triage = login(reserve["people"]["enisa_triage"])
    assert triage.get(f"/reserve/requests/{request.pk}/ranking/").status_code == 200
    assert triage.get(f"{API}{request.pk}/ranking/").status_code == 200


def test_triage_queue_page_and_api_agree_for_enisas_admin(reserve, login):
    rf.request_in(RequestStatus.SUBMITTED, reserve)
    session = login(reserve["people"]["enisa_admin"])  # ENISA, the contracting authority: its queue
    assert session.get("/reserve/triage/").status_code == 200
    assert session.get("/api/v1/reserve-triage-queue/").json()["count"] == 1


def test_commissions_decision_maker_gets_no_decide_button_where_enisa_decides(reserve, login, settings):
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    session = login(reserve["people"]["ec_decision"])
    decide = f'href="/reserve/requests/{request.pk}/decide/"'
    assert decide not in session.get("/reserve/triage/").content.decode()
    assert decide not in session.get(f"/reserve/requests/{request.pk}/").content.decode()
    assert session.get(f"/reserve/requests/{request.pk}/decide/").status_code == 403
    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"  # where the Commission holds the role, it decides
    assert decide in session.get("/reserve/triage/").content.decode()
    assert session.get(f"/reserve/requests/{request.pk}/decide/").status_code == 200


def test_capabilities_are_read_with_one_membership_query(reserve, django_assert_max_num_queries):
    user = reserve["people"]["enisa_decision"]
    policy.forget(user)
    with django_assert_max_num_queries(2):  # the memberships, and whether ENISA's admin is a network admin
        answer = policy.capabilities(user)
        policy.capabilities(user)
    assert answer.decisions and not answer.ranking
