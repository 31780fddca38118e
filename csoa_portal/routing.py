"""Websocket routes; the live consumer arrives with the liaison board."""

websocket_urlpatterns: list = []
