"""Views of the lessons product."""
