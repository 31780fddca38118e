"""Pages of the reviews product."""

urlpatterns: list = []
