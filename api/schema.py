"""The OpenAPI schema says what every operation can answer, errors included: each
operation lists the problem-details responses it can give (RFC 9457), so that a client
(and schemathesis, in CI) can rely on the schema for every status code."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from .errors import PROBLEM_TYPE


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Path of the field at fault, e.g. form_data.birth_date")
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)

    class Meta:
        ref_name = "Problem"


DESCRIPTIONS = {
    "400": "Invalid request (field errors in `errors`)",
    "401": "No valid API key",
    "403": "The key lacks the scope",
    "404": "Not found, or outside the client's agencies",
    "406": "Response format not available",
    "409": "The action does not apply to the dossier as it is now",
    "413": "Request too large",
    "415": "Content type not accepted",
    "422": "Idempotency-Key reused with another request",
    "429": "Rate limit reached (see Retry-After)",
}


class ApiAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["400", "401", "403", "404", "406", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["409", "413", "415", "422"]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = self.resolve_serializer(ProblemSerializer, "response")
        for code in self._error_codes():
            responses.setdefault(
                code,
                {
                    "description": DESCRIPTIONS[code],
                    "content": {PROBLEM_TYPE: {"schema": component.ref}},
                },
            )
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key made in the admin or with `manage.py api_client create`.",
        }
