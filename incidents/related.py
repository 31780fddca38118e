"""What other apps make of an incident, linked from its page: situation reports, public warnings, reviews.

The incident page may not import the apps to its left; each registers a provider here from its
``AppConfig.ready()`` (``register_related``). A provider answers for one person and one incident
with the links that person may follow (and nothing for what they may not see or do), so the page
shows a product only to those the product's own policy admits.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RelatedLink:
    label: str
    url: str
    count: int | None = None  # how many there are, when the link leads to a list


_PROVIDERS: dict[str, Callable] = {}


def register_related(name: str, provider: Callable) -> None:
    """``provider(user, incident) -> list[RelatedLink]``; registering a name again replaces it."""
    _PROVIDERS[name] = provider


def related_links(user, incident) -> list[RelatedLink]:
    return [link for _name, provider in sorted(_PROVIDERS.items()) for link in provider(user, incident)]
