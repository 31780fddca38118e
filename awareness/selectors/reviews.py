"""Reads of the reviews product, through the permission rules."""
