"""Project-wide pages: error handlers that answer JSON on the API and HTML elsewhere."""

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render


class PageRefused(PermissionDenied):
    """A page the person may not use, where saying so reveals nothing: 403 saying why and who can.

    For pages about no object, or about one the person already sees (the directory's
    organisations, a request they see, the queue of a role). An object the person may not
    see stays a plain 404 (``Http404``), so nobody learns that it exists.
    """

    def __init__(self, reason: str, *, who_can: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.who_can = who_can


def _error(request, status, code, message, template):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": status, "code": code, "message": message, "fields": {}}}, status=status)
    return render(request, template, {"message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "The request could not be understood.", "errors/400.html")


def permission_denied(request, exception=None):
    if isinstance(exception, PageRefused) and not request.path.startswith("/api/"):
        return render(request, "errors/403.html", {"message": exception.reason, "who_can": exception.who_can},
                      status=403)
    return _error(request, 403, "permission_denied", "You may not do this.", "errors/403.html")


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "Not found.", "errors/404.html")


def server_error(request):
    return _error(request, 500, "server_error", "Something went wrong on our side; it has been logged.", "errors/500.html")
