"""Writes of the reviews product: one function per intent, audited, with its Event."""
