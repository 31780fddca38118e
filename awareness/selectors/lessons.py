"""Reads of the lessons product, through the permission rules."""
