"""Who may see or do what with the reviews product."""
