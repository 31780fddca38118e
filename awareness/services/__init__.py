"""Every write of the app, split by product."""
