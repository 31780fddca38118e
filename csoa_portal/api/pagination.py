from rest_framework.pagination import CursorPagination


class CodeCursorPagination(CursorPagination):
    """Cursor pagination: stable under inserts, constant cost per page whatever the offset.

    Views set ``ordering`` to a unique column (``code``, ``-id`` …).
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
