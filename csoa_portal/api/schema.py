"""OpenAPI extensions: teach drf-spectacular the portal's own authentication.

Imported by ``csoa_portal.api.urls`` so it is registered before any schema is built.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "csoa_portal.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "csoa_<prefix>_<secret>",
            "description": "An organisation API token, created by an organisation admin in the portal "
            "or with `manage.py issue_token`. Scopes: `read` for GET, `write` for changes.",
        }
