"""Tables of the sitreps product."""

__all__: list[str] = []
