"""API of the sitreps product (views and its urlpatterns)."""

urlpatterns: list = []
