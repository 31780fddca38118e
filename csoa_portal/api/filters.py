"""Filters every app's FilterSets share.

An id in a query parameter is a question about an object. Answering it against all rows
of the table would let any token tell an existing invisible object (an empty list) from
a missing one (an error) and so enumerate other organisations' ids. ``VisibleIdFilter``
answers it against what the caller may see, so the two are the same answer.
"""

from collections.abc import Callable

import django_filters
from django.db.models import QuerySet


class VisibleIdFilter(django_filters.ModelChoiceFilter):
    """A query parameter naming an object by id, resolved among the objects the caller may see.

    ``visible`` is the app's selector for the requesting user (``incidents_visible_to``,
    ``requests_visible_to``): an id it does not return — missing, or someone else's — is
    the same 400 naming the parameter ("No incident with id '42'."), never an empty list.
    The app passes its selector in, so this module imports no app (one-way dependencies).
    """

    def __init__(self, *, visible: Callable[[object], QuerySet], label: str, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": f"No {label} with id '%(value)s'."})
        kwargs.setdefault("help_text", f"Only those of this {label} (its id).")
        super().__init__(queryset=lambda request: visible(getattr(request, "user", None)), **kwargs)
