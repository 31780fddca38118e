"""API of the warnings product (views and its urlpatterns)."""

urlpatterns: list = []
