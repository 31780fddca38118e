"""Pages of the lessons product."""

urlpatterns: list = []
