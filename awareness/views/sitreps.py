"""Views of the sitreps product."""
