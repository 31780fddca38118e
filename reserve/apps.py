from django.apps import AppConfig


class ReserveConfig(AppConfig):
    name = "reserve"
    verbose_name = "EU Cybersecurity Reserve"
