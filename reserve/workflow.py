"""The state machines of a Reserve request and of a provider's engagement: the one place that lists them.

Every state change of a request or engagement goes through ``check``: it says which
transition applies, or refuses with a message naming the state, the action and who may
take it. Services decide *what* to write; this module decides *whether* it may happen.
No ORM here, so the tables are tested directly (tests/reserve/test_workflow.py).

Roles are relative to the request (``reserve.policy.roles_for``):

| role | who |
| --- | --- |
| requester | a member of the requesting organisation (CSoA Art. 14(3)); on an engagement, the user of the support |
| spoc | a member of the NIS2 single point of contact that routes it (Art. 15(3)) |
| triage | ENISA triage staff (ENISA assesses requests under the contribution agreement) |
| decision_maker | a decision-maker of the contracting authority (setting RESERVE_CONTRACTING_AUTHORITY) |
| provider | staff of the provider the engagement is with |
| system | the portal itself: the sweep, or a consequence of another transition |
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models


class RequestStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_SPOC = "awaiting_spoc", "Awaiting the single point of contact"
    SUBMITTED = "submitted", "Submitted: in triage"
    INFO_REQUESTED = "info_requested", "More information requested"
    ASSESSED = "assessed", "Assessed: awaiting decision"
    APPROVED = "approved", "Approved: matching providers"
    REJECTED = "rejected", "Rejected"
    DEPLOYED = "deployed", "Provider deployed"
    CLOSED = "closed", "Deployment closed: after-action report due"
    REPORTED = "reported", "After-action report submitted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class EngagementStatus(models.TextChoices):
    OFFERED = "offered", "Offered: awaiting the provider"
    ACCEPTED = "accepted", "Accepted: deployed"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "No answer in time"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class Role(StrEnum):
    REQUESTER = "requester"
    SPOC = "spoc"
    TRIAGE = "triage"
    DECISION_MAKER = "decision_maker"
    PROVIDER = "provider"
    SYSTEM = "system"


ROLE_LABELS = {
    Role.REQUESTER: "the requesting organisation",
    Role.SPOC: "the requester's NIS2 single point of contact",
    Role.TRIAGE: "ENISA triage staff",
    Role.DECISION_MAKER: "decision-makers of the contracting authority",
    Role.PROVIDER: "the engaged provider's staff",
    Role.SYSTEM: "the portal",
}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    targets: tuple[str, ...]  # the first is the usual one; submit picks by routing
    roles: frozenset[Role]
    label: str


def _t(action, sources, targets, roles, label) -> Transition:
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    return Transition(action, frozenset(sources), targets, frozenset(roles), label)


S, E, R = RequestStatus, EngagementStatus, Role
OPEN_BEFORE_DECISION = {S.DRAFT, S.AWAITING_SPOC, S.SUBMITTED, S.INFO_REQUESTED, S.ASSESSED}

REQUEST_TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    # Art. 15(3): a member state's request goes through its SPOC, a third country's through the SPOC it
    # designated (Art. 19(9)); CERT-EU and a SPOC itself submit straight to the contracting authority.
    _t("submit", {S.DRAFT}, (S.AWAITING_SPOC, S.SUBMITTED), {R.REQUESTER}, "submit"),
    _t("forward", {S.AWAITING_SPOC}, S.SUBMITTED, {R.SPOC}, "forward (endorse)"),
    _t("return", {S.AWAITING_SPOC}, S.DRAFT, {R.SPOC}, "return"),
    _t("request_info", {S.SUBMITTED, S.ASSESSED}, S.INFO_REQUESTED, {R.TRIAGE}, "request more information"),
    _t("answer_info", {S.INFO_REQUESTED}, S.SUBMITTED, {R.REQUESTER}, "answer the request for information"),
    _t("assess", {S.SUBMITTED}, S.ASSESSED, {R.TRIAGE}, "assess"),
    _t("approve", {S.ASSESSED}, S.APPROVED, {R.DECISION_MAKER}, "approve"),
    _t("reject", {S.ASSESSED}, S.REJECTED, {R.DECISION_MAKER}, "reject"),
    # The first provider that accepts its engagement deploys: the request follows.
    _t("deploy", {S.APPROVED}, S.DEPLOYED, {R.PROVIDER}, "deploy (a provider accepts)"),
    _t("close", {S.DEPLOYED}, S.CLOSED, {R.REQUESTER, R.TRIAGE}, "close the deployment"),
    _t("report", {S.CLOSED}, S.REPORTED, {R.REQUESTER}, "submit the after-action report"),
    _t("withdraw", OPEN_BEFORE_DECISION | {S.APPROVED}, S.WITHDRAWN, {R.REQUESTER}, "withdraw"),
]}

ENGAGEMENT_TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    # "offer" creates the engagement: its source is the request being approved (see REQUEST_STATES_FOR_OFFER).
    _t("offer", {""}, E.OFFERED, {R.TRIAGE, R.SYSTEM}, "engage"),
    _t("accept", {E.OFFERED}, E.ACCEPTED, {R.PROVIDER}, "accept"),
    _t("decline", {E.OFFERED}, E.DECLINED, {R.PROVIDER}, "decline"),
    _t("expire", {E.OFFERED}, E.EXPIRED, {R.SYSTEM}, "time out"),
    _t("cancel", {E.OFFERED}, E.CANCELLED, {R.TRIAGE, R.SYSTEM}, "cancel"),
    _t("complete", {E.ACCEPTED}, E.COMPLETED, {R.SYSTEM}, "complete"),
    # CSoA Art. 16: after acceptance and before any work, each side confirms the specific agreement once
    # (the status stays accepted; reserve.policy offers it to a side that has not confirmed yet).
    _t("confirm_agreement", {E.ACCEPTED}, E.ACCEPTED, {R.PROVIDER, R.REQUESTER}, "confirm the specific agreement"),
]}

# ENISA may engage providers while the request is approved or already deployed (several providers).
REQUEST_STATES_FOR_OFFER = frozenset({S.APPROVED, S.DEPLOYED})
# A request in these states has been answered by the contracting authority (the response clock stops).
DECIDED = frozenset({S.APPROVED, S.REJECTED, S.DEPLOYED, S.CLOSED, S.REPORTED})
# A request the requester can no longer act on.
FINAL = frozenset({S.REJECTED, S.REPORTED, S.WITHDRAWN})
# Engagements that hold the provider's capacity.
BOOKING = frozenset({E.OFFERED, E.ACCEPTED, E.COMPLETED})
LIVE_ENGAGEMENT = frozenset({E.OFFERED, E.ACCEPTED})


class TransitionRefused(ValidationError):
    """The action is not allowed from the current state (HTTP 409/400, field ``status``)."""

    def __init__(self, message: str):
        super().__init__({"status": message})
        self.refusal = message


def _label(value: str, choices) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value or "new"


def check(table: dict[str, Transition], action: str, *, status: str, roles, noun: str = "request") -> Transition:
    """The transition for ``action`` from ``status`` by someone holding ``roles``; refused otherwise.

    The role is checked first: someone who may never take the action learns nothing about
    the state. Raises PermissionDenied (wrong role) or TransitionRefused (wrong state).
    """
    transition = table.get(action)
    if transition is None:
        raise TransitionRefused(f"Unknown action {action!r} for a {noun}; use one of {', '.join(table)}.")
    if not transition.roles & set(roles):
        who = " or ".join(ROLE_LABELS[r] for r in sorted(transition.roles))
        raise PermissionDenied(f"Only {who} may {transition.label} this {noun}.")
    if status not in transition.sources:
        choices = RequestStatus if table is REQUEST_TRANSITIONS else EngagementStatus
        allowed = ", ".join(sorted(_label(s, choices) for s in transition.sources))
        raise TransitionRefused(
            f"This {noun} is {_label(status, choices).lower()}: it cannot {transition.label} now "
            f"(only when {allowed.lower()})."
        )
    return transition


def request_transition(action: str, *, status: str, roles) -> Transition:
    return check(REQUEST_TRANSITIONS, action, status=status, roles=roles, noun="request")


def engagement_transition(action: str, *, status: str, roles) -> Transition:
    return check(ENGAGEMENT_TRANSITIONS, action, status=status, roles=roles, noun="engagement")


# Who moves a request on from each state, in words ({requester}, {spoc}, {authority}: organisation names):
# what the request page says to a person who has nothing to do on it now.
WAITING_FOR = {
    S.DRAFT: "{requester} completes the draft and submits it",
    S.AWAITING_SPOC: "{spoc}, the NIS2 single point of contact, forwards it to the contracting authority or returns it",
    S.SUBMITTED: "ENISA triage assesses it before the 48-hour clock runs out",
    S.INFO_REQUESTED: "{requester} answers ENISA's question; then triage goes on",
    S.ASSESSED: "{authority} decides",
    S.APPROVED: "ENISA triage engages providers; the first that accepts is deployed",
    S.DEPLOYED: "The provider supports the requester; {requester} or ENISA triage closes the deployment when it ends",
    S.CLOSED: "{requester} submits the after-action report",
    S.REJECTED: "Nothing more happens: the request was rejected",
    S.REPORTED: "Nothing more happens: the after-action report is in and the request is complete",
    S.WITHDRAWN: "Nothing more happens: the request was withdrawn",
}


# Transitions that follow from another one (a provider's acceptance deploys the request, the sweep
# times an engagement out, closing completes the engagements): never offered as buttons.
CONSEQUENTIAL = frozenset({"deploy", "expire", "complete"})


def actions_for(table: dict[str, Transition], *, status: str, roles) -> list[str]:
    """What someone with ``roles`` may do now (pages and the API show these as buttons/links)."""
    roles = set(roles)
    return [a for a, t in table.items() if status in t.sources and t.roles & roles and a not in CONSEQUENTIAL]
