"""Links other apps add to the main menu: liaison shows them without knowing the apps.

An app to the left (incidents, reserve) registers, from its AppConfig.ready(), a function
``user -> [MenuLink]`` deciding with its own policy what this person's work needs (a
provider's staff: their engagements and where they are deployed, not an empty crisis
board). The menu never tests role names (STYLE.md "One door"), like the dashboard panels.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class MenuLink:
    label: str
    url: str
    title: str = ""  # a longer description, shown on hover


class LinkRegistry:
    """Groups of links registered by name, each with its order; the main menu is one, an app may keep its own."""

    def __init__(self):
        self._groups: dict[str, tuple[int, Callable]] = {}

    def register(self, name: str, links_for: Callable, *, order: int) -> None:
        """Add (or replace, by name) a group of links: ``links_for(user)`` returns them, ``[]`` for none."""
        self._groups[name] = (order, links_for)

    def links(self, user) -> list[MenuLink]:
        """This person's links, group after group by order (registration order among equals)."""
        return [link for _, links_for in sorted(self._groups.values(), key=lambda entry: entry[0])
                for link in links_for(user)]


_MAIN = LinkRegistry()
register_menu = _MAIN.register


def menu_for(user, *, path: str = "") -> list[dict]:
    """The links this person sees, by order: ``{"label", "url", "title", "current"}``.

    ``current`` marks the link whose URL is the longest prefix of ``path`` (the page being shown).
    """
    links = _MAIN.links(user)
    current = max((link.url for link in links if path.startswith(link.url)), key=len, default=None)
    return [{"label": link.label, "url": link.url, "title": link.title, "current": link.url == current}
            for link in links]
