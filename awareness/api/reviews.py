"""API of the reviews product (views and its urlpatterns)."""

urlpatterns: list = []
