"""The API key in the OpenAPI schema: every operation names the bearer scheme, so that
generated clients (and schemathesis) know to send ``Authorization: Bearer <key>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The client's API key: `Authorization: Bearer <key>`.",
        }
