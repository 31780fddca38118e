"""Who may see or do what with the lessons product."""
