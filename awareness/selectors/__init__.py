"""Every read of the app that needs rules, split by product."""
