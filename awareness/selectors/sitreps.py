"""Reads of the sitreps product, through the permission rules."""
