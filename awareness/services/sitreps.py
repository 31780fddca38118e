"""Writes of the sitreps product: one function per intent, audited, with its Event."""
