"""Writes of the lessons product: one function per intent, audited, with its Event."""
