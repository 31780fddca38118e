"""Panels other apps add to the dashboard: liaison shows them without knowing the apps.

An app to the left (incidents, reserve) registers, from its AppConfig.ready(), a panel
with a template and a function ``user -> context | None``; ``None`` means the panel is
not for this person. The app decides who sees its panel with its own policy, so the
dashboard never tests role names (DESIGN.md "Permissions", STYLE.md "One door").
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    template: str
    context_for: Callable


_PANELS: dict[str, Panel] = {}


def register_panel(name: str, context_for: Callable, *, template: str) -> None:
    """Add (or replace, by name) a panel: ``context_for(user)`` returns its context, or None to hide it."""
    _PANELS[name] = Panel(name, template, context_for)


def panels_for(user) -> list[dict]:
    """The panels this person sees, in registration order: ``{"name", "template", "context"}``."""
    shown = []
    for panel in _PANELS.values():
        context = panel.context_for(user)
        if context is not None:
            shown.append({"name": panel.name, "template": panel.template, "context": context})
    return shown
