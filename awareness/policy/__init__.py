"""The app's one policy, split by product; pages, API, templates and admin ask it."""
