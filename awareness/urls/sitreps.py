"""Pages of the sitreps product."""

urlpatterns: list = []
