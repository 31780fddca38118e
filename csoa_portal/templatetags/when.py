"""``{{ moment|when }}``: every date-time on a page as ``2026-12-04 16:05 CET`` (``csoa_portal.display``)."""

from django import template

from csoa_portal import display

register = template.Library()


@register.filter(expects_localtime=False)
def when(value, arg: str = "") -> str:
    """``|when`` or ``|when:"seconds"`` (the audit log, where the order within a minute matters)."""
    return display.when(value, seconds=arg == "seconds")
