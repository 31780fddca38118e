"""Counting and grouping for the crowded pages: a 27-state crisis read in one line, the list behind it.

Pure functions over values already read (alert states, shares, events): no ORM, no clock, so the
incident page, the crisis board and their tests share one definition of "24 acknowledged, 2 waiting".
"""

from dataclasses import dataclass, field
from typing import Iterable, Sequence

# What an alert's state says to a reader, in the order a reader needs them: the ones still open first.
ALERT_WORDS = {
    "notified": "waiting",
    "seen": "waiting",
    "no_response": "no response",
    "acknowledged": "acknowledged",
    "not_affected": "not affected",
}
ALERT_WORD_ORDER = ("waiting", "no response", "acknowledged", "not affected")

# The share kinds as a reader counts them (singular, plural), in the order of the share dialog.
SHARE_KIND_WORDS = {
    "organisation": ("organisation", "organisations"),
    "member_state": ("member state", "member states"),
    "community": ("community", "communities"),
    "person": ("named person", "named people"),
}


def alert_counts(states: Iterable[str]) -> list[tuple[str, int]]:
    """``[("waiting", 2), ("acknowledged", 24), ("not affected", 3)]``: "notified" and "seen" are both waiting."""
    counts: dict[str, int] = {}
    for state in states:
        word = ALERT_WORDS.get(state, state)
        counts[word] = counts.get(word, 0) + 1
    known = [(word, counts.pop(word)) for word in ALERT_WORD_ORDER if word in counts]
    return known + sorted(counts.items())


def counted(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


@dataclass
class ShareGroup:
    kind: str
    label: str  # "27 organisations"
    shares: list = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.shares)


def share_groups(shares: Iterable) -> list[ShareGroup]:
    """Shares by kind of recipient (organisations, member states, communities, people), each sorted by name.

    A share is anything with ``target_kind`` and ``label`` (``incidents.models.Share``).
    """
    groups: dict[str, list] = {}
    for share in shares:
        groups.setdefault(share.target_kind, []).append(share)
    order = list(SHARE_KIND_WORDS)
    result = []
    for kind in sorted(groups, key=lambda k: (order.index(k) if k in order else len(order), k)):
        singular, plural = SHARE_KIND_WORDS.get(kind, (kind, kind))
        members = sorted(groups[kind], key=lambda s: s.label.casefold())
        result.append(ShareGroup(kind=kind, label=counted(len(members), singular, plural), shares=members))
    return result


def listed(names: Sequence[str], *, shown: int = 3) -> str:
    """"A, B and C"; past ``shown`` names, "A, B, C and 53 others": one line, however many were named."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    if len(names) <= shown + 1:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{', '.join(names[:shown])} and {len(names) - shown} others"


def collapse_alerts_raised(events: Sequence) -> list[tuple[object, int]]:
    """``(event, count)`` per line: consecutive "alert raised" events of one incident are one line with their count.

    One escalation alerting 29 organisations is one line ("29 organisations alerted"), not 29. An event is
    anything with ``kind`` and ``payload`` (``liaison.models.Event``); the first of a run stands for it.
    """
    lines: list[list] = []
    for event in events:
        previous = lines[-1][0] if lines else None
        if (previous is not None and event.kind == "alert.raised" and previous.kind == "alert.raised"
                and previous.payload.get("incident") == event.payload.get("incident")):
            lines[-1][1] += 1
            continue
        lines.append([event, 1])
    return [(event, count) for event, count in lines]
