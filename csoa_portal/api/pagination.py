"""Cursor pagination for every API list."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class CodeCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost per page whatever the offset.

    A view declares ``ordering`` as a unique column (``code``, ``-id`` …): a cursor over a
    non-unique column could skip or repeat rows. DRF itself only reads the ordering from
    the paginator or an OrderingFilter, hence ``get_ordering`` below.
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_cursor_message = "Invalid cursor: use the 'next' or 'previous' link of a previous page."

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def decode_cursor(self, request):
        """A bad cursor is bad input (400 naming ``cursor``), not a missing page (DRF's 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]}) from None
