"""Who may see or do what with the sitreps product."""
