"""TLP 2.0 sharing rules as pure functions (DOMAIN.md "Traffic Light Protocol 2.0").

- RED: named recipients only, for their eyes only: people, never whole organisations;
- AMBER+STRICT: the recipient organisation only (or named people);
- AMBER: recipient organisations and their constituents: organisations and member states;
- GREEN: the community: any target in the portal, communities included;
- CLEAR: no restriction.
"""

from incidents.vocabulary import TLP

ORGANISATION, MEMBER_STATE, COMMUNITY, PERSON = "organisation", "member_state", "community", "person"

ALLOWED_TARGETS = {
    TLP.RED: frozenset({PERSON}),
    TLP.AMBER_STRICT: frozenset({ORGANISATION, PERSON}),
    TLP.AMBER: frozenset({ORGANISATION, MEMBER_STATE, PERSON}),
    TLP.GREEN: frozenset({ORGANISATION, MEMBER_STATE, COMMUNITY, PERSON}),
    TLP.CLEAR: frozenset({ORGANISATION, MEMBER_STATE, COMMUNITY, PERSON}),
}

RULES = {
    TLP.RED: "TLP:RED is for named recipients only: share it with individual people, not with an organisation, member state or community.",
    TLP.AMBER_STRICT: "TLP:AMBER+STRICT is for the recipient organisation only: share it with organisations (or named people), not with a member state or community.",
    TLP.AMBER: "TLP:AMBER reaches recipient organisations and their constituents: share it with organisations or member states, not with a whole community.",
}

TARGET_LABELS = {ORGANISATION: "an organisation", MEMBER_STATE: "a member state", COMMUNITY: "a community", PERSON: "a named person"}


def share_refusal(*, tlp: str, target_kind: str) -> str | None:
    """Why TLP forbids sharing with this kind of target, or None when it allows it."""
    if target_kind in ALLOWED_TARGETS[TLP(tlp)]:
        return None
    return f"Refused: sharing with {TARGET_LABELS[target_kind]}. {RULES[TLP(tlp)]}"


def tlp_change_refusal(*, current: str, new: str, by_originator: bool, shared_kinds: set[str]) -> str | None:
    """Why a TLP change is refused, or None.

    Only the originator may lower a label (make it less restrictive); a stricter label
    must still allow every existing share, otherwise the shares are revoked first.
    """
    if new == current:
        return None
    if TLP.rank(new) < TLP.rank(current) and not by_originator:
        return f"Only the originating organisation may lower the TLP (from {TLP(current).label} to {TLP(new).label})."
    conflicting = sorted(k for k in shared_kinds if k not in ALLOWED_TARGETS[TLP(new)])
    if conflicting:
        kinds = ", ".join(TARGET_LABELS[k] for k in conflicting)
        return f"{TLP(new).label} does not allow the existing shares with {kinds}: revoke them first. {RULES[TLP(new)]}"
    return None
