from importlib import import_module

from django.apps import AppConfig

PRODUCTS = ("sitreps", "warnings", "reviews", "lessons")


class AwarenessConfig(AppConfig):
    """Shared situational awareness: situation reports, public warnings, incident reviews, lessons learned.

    The products a crisis produces from the raw material of the apps to its right (incidents,
    the Reserve, the network). Each product plugs into the registries (events, inbox, sweep,
    menu, audit) from its own ``awareness.hooks.<product>`` module.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "awareness"
    verbose_name = "Situational awareness"

    def ready(self):
        for product in PRODUCTS:
            import_module(f"awareness.hooks.{product}").register()
        import_module("awareness.hooks.incident_page").register()
        import_module("awareness.hooks.menu").register()

    def load_demo(self, stdout=None):
        """Called by liaison's load_demo: each product's demo objects, where it has some."""
        for product in PRODUCTS:
            load = getattr(import_module(f"awareness.hooks.{product}"), "load_demo", None)
            if load is not None:
                load(stdout=stdout)
