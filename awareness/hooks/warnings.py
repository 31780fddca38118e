"""Registrations of the warnings product (events, inbox, sweep, menu, audit)."""


def register() -> None:
    """Called from AwarenessConfig.ready()."""
