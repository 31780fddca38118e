"""Views of the warnings product."""
