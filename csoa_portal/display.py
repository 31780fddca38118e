"""How a moment reads on every page: ``2026-12-04 16:05 CET``, in the reader's own time zone.

One format, so a date-time on the incident page, the board, the Reserve and the audit log reads
the same: the ISO date (no month names to misread between languages), a 24-hour clock and the
zone's abbreviation, so nobody has to guess whose 16:05 it is. Storage and the API stay UTC.
The reader's zone is the active one (``csoa_portal.middleware.UserTimezoneMiddleware``).
"""

from datetime import date, datetime

from django.utils import dateformat, timezone

FORMAT = "Y-m-d H:i T"
FORMAT_SECONDS = "Y-m-d H:i:s T"


def when(value, *, seconds: bool = False) -> str:
    """A date-time as ``2026-12-04 16:05 CET`` (a date as ``2026-12-04``); "" for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return dateformat.format(value, FORMAT_SECONDS if seconds else FORMAT).strip()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
