"""Registrations of the lessons product (events, inbox, sweep, menu, audit)."""


def register() -> None:
    """Called from AwarenessConfig.ready()."""
