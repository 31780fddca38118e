"""Tables of the lessons product."""

__all__: list[str] = []
