"""Who may see or do what with the warnings product."""
