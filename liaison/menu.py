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


_MENUS: dict[str, tuple[int, Callable]] = {}


def register_menu(name: str, links_for: Callable, *, order: int) -> None:
    """Add (or replace, by name) a group of links: ``links_for(user)`` returns them, ``[]`` for none."""
    _MENUS[name] = (order, links_for)


def menu_for(user, *, path: str = "") -> list[dict]:
    """The links this person sees, by order: ``{"label", "url", "title", "current"}``.

    ``current`` marks the link whose URL is the longest prefix of ``path`` (the page being shown).
    """
    links = [link for _, links_for in sorted(_MENUS.values(), key=lambda entry: entry[0])
             for link in links_for(user)]
    current = max((link.url for link in links if path.startswith(link.url)), key=len, default=None)
    return [{"label": link.label, "url": link.url, "title": link.title, "current": link.url == current}
            for link in links]
