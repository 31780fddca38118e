"""API of the lessons product (views and its urlpatterns)."""

urlpatterns: list = []
