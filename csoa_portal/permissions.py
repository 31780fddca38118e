from rest_framework import permissions

from csoa_portal.models import ApiToken


class TokenScopePermission(permissions.BasePermission):
    """Reads need a token's ``read`` scope, writes its ``write`` scope; sessions are not scoped."""

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        needed = "read" if request.method in permissions.SAFE_METHODS else "write"
        if token.has_scope(needed):
            return True
        self.message = f"This token lacks the '{needed}' scope needed for {request.method} requests."
        return False
