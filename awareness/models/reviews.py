"""Tables of the reviews product."""

__all__: list[str] = []
