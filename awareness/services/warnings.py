"""Writes of the warnings product: one function per intent, audited, with its Event."""
