"""Tables of the warnings product."""

__all__: list[str] = []
