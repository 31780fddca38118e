"""Which Event kinds reach a person's dashboard inbox: each app declares its own.

Registered from each app's ``AppConfig.ready`` (``register_inbox_kinds``), so liaison, which
reads the inbox (``selectors.inbox_for``), never imports the apps to its left. An item is
news for a person when the event is addressed to one of their groups: by default the
groups the event names in ``payload["recipient_groups"]`` (so the actor's own people are
not told); a kind whose events name no recipients says who is told with ``addressed``.
Visibility is not decided here: the inbox shows only events in the person's audience whose
subject they may still see.
"""

from collections.abc import Callable, Iterable

# (event, the person, their group names) -> is it news for them?
Addressed = Callable[[object, object, set[str]], bool]
# event -> what the item says before its link ("Engagement offer: answer within 23 h")
Label = Callable[[object], str]

_kinds: dict[str, frozenset[str]] = {}
_addressed: dict[str, Addressed] = {}
_labels: dict[str, Label] = {}


def register_inbox_kinds(app_label: str, kinds: Iterable[str], *, addressed: dict[str, Addressed] | None = None,
                         labels: dict[str, Label] | None = None) -> None:
    """Declare the app's Event kinds that are news for their recipients (replaces its earlier declaration).

    ``labels`` say, per kind, what an item says before the link to its subject (computed when
    the inbox is read, so a clock's time left is current).
    """
    kinds, addressed, labels = frozenset(kinds), dict(addressed or {}), dict(labels or {})
    for kind, check in addressed.items():  # all checked before anything is registered
        if kind not in kinds:
            raise ValueError(f"{app_label}: 'addressed' names {kind!r}, which is not among its inbox kinds.")
        if _addressed.get(kind, check) is not check:
            raise ValueError(f"Two apps say who is told of {kind!r}.")
    for kind in labels:
        if kind not in kinds:
            raise ValueError(f"{app_label}: 'labels' names {kind!r}, which is not among its inbox kinds.")
    _kinds[app_label] = kinds
    _addressed.update(addressed)
    _labels.update(labels)


def label_of(event) -> str:
    """What the item says before its link: the app's label, else the kind itself."""
    label = _labels.get(event.kind)
    return label(event) if label is not None else f"{event.kind}:"


def inbox_kinds() -> frozenset[str]:
    return frozenset().union(*_kinds.values())


def recipient_groups(event) -> set[str]:
    return set(event.payload.get("recipient_groups", []))


def is_addressed(event, *, user, names: set[str]) -> bool:
    """Is the event news for ``user``, who is in the groups ``names``?"""
    check = _addressed.get(event.kind)
    if check is not None:
        return check(event, user, names)
    return bool(names & recipient_groups(event))
