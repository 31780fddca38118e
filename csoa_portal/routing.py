"""Websocket routes: the live event stream (liaison.consumers)."""

from django.urls import path

from liaison.consumers import EventStreamConsumer

websocket_urlpatterns = [
    path("ws/events/", EventStreamConsumer.as_asgi(), name="ws-events"),
]
