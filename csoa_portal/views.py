"""Project-wide pages: error handlers that answer JSON on the API and HTML elsewhere."""

from django.http import JsonResponse
from django.shortcuts import render


def _error(request, status, code, message, template):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"status": status, "code": code, "message": message, "fields": {}}}, status=status)
    return render(request, template, {"message": message}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "bad_request", "The request could not be understood.", "errors/400.html")


def permission_denied(request, exception=None):
    return _error(request, 403, "permission_denied", "You may not do this.", "errors/403.html")


def page_not_found(request, exception=None):
    return _error(request, 404, "not_found", "Not found.", "errors/404.html")


def server_error(request):
    return _error(request, 500, "server_error", "Something went wrong on our side; it has been logged.", "errors/500.html")
