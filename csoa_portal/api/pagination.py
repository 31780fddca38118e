"""Cursor pagination for every API list."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

COUNT_VALUES = {"true": True, "1": True, "false": False, "0": False}


class CodeCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost per page whatever the offset.

    A view declares ``ordering`` as a unique column (``code``, ``-id`` …): a cursor over a
    non-unique column could skip or repeat rows. DRF itself only reads the ordering from
    the paginator or an OrderingFilter, hence ``get_ordering`` below.

    ``?count=true`` adds ``count``, how many items the filtered list holds in all. It is asked for,
    not given by default: counting a large visible set (ENISA's incidents) costs a scan of every
    row, where a page stops after its own (bench/incidents_list.py).
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
    count_query_param = "count"
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

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.count_query_param)
        if raw is not None and raw.strip().lower() not in COUNT_VALUES:
            raise ValidationError({self.count_query_param: ["Send count=true to get the total, or leave it out."]})
        wanted = raw is not None and COUNT_VALUES[raw.strip().lower()]
        self.count = self._count(queryset, view) if wanted else None
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def _count(queryset, view) -> int:
        """The total of the same rows; a view whose page query is shaped for stopping early (the incidents') names
        the query to count them with, ``counted_queryset()``."""
        counted = getattr(view, "counted_queryset", None)
        return (counted() if counted is not None else queryset).count()

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        if self.count is not None:
            response.data = {"count": self.count, **response.data}
        return response

    def get_paginated_response_schema(self, schema):
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"] = {
            "count": {"type": "integer", "description": "How many items the list holds in all; only with "
                                                        "?count=true.", "example": 123},
            **paginated["properties"],
        }
        return paginated

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), {
            "name": self.count_query_param, "required": False, "in": "query",
            "description": "true: add count, the total of the filtered list (one more query).",
            "schema": {"type": "boolean"},
        }]
