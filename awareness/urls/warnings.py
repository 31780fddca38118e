"""Pages of the warnings product."""

urlpatterns: list = []
