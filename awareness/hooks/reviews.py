"""Registrations of the reviews product (events, inbox, sweep, menu, audit)."""


def register() -> None:
    """Called from AwarenessConfig.ready()."""
