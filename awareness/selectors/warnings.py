"""Reads of the warnings product, through the permission rules."""
