"""Views of the reviews product."""
