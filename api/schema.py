"""What the schema says of errors and keys: every problem response as RFC 9457 problem
details (``application/problem+json``), described once, and listed on every operation that
can give it, so that a client (and schemathesis, in CI) can rely on the schema for every
status code."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from .errors import PROBLEM_TYPE


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        allow_blank=True,
        help_text="Path of the field at fault (form_data.birth_date, applicant.phone, "
        "file_<component>); empty for the request as a whole.",
    )
    message = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="A URI naming the kind of problem.")
    title = serializers.CharField()
    status = serializers.IntegerField(min_value=100, max_value=599)
    detail = serializers.CharField(required=False)
    instance = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)

    class Meta:
        ref_name = "Problem"


DESCRIPTIONS = {
    400: "The request is not valid: each field at fault is listed in `errors`.",
    401: "No API key, or a key that is not valid or was revoked.",
    403: "The key lacks the scope, or the action is not this client's to take.",
    404: "Not found, or not one of the client's agencies.",
    406: "The response cannot be given in the format asked for (Accept).",
    409: "The action does not apply to the dossier as it is now.",
    410: "The file was erased at the end of its retention period.",
    413: "The request or one of its files is too large.",
    415: "The content type of the request is not accepted.",
    422: "The Idempotency-Key was already used for a different request.",
    429: "Too many requests: wait for the number of seconds in Retry-After.",
    503: "The file store is not answering: try again after Retry-After seconds.",
}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429, 503],
    description="Seconds to wait before the next request.",
)


def problems(*codes: int) -> dict:
    """Responses for ``codes`` (and 401, 406, 429, which every endpoint can give)."""
    every = sorted({401, 406, 429, *codes})
    return {
        (code, PROBLEM_TYPE): OpenApiResponse(ProblemSerializer, description=DESCRIPTIONS[code])
        for code in every
    }


class ApiAutoSchema(AutoSchema):
    """Every operation lists the problems any operation can give (bad query, no key,
    wrong scope, not found, rate limit; for writes also conflict, size, media type and
    idempotency), besides those its view declares."""

    def _error_codes(self) -> list[int]:
        codes = [400, 401, 403, 404, 406, 429]
        if self.method in ("POST", "PUT", "PATCH"):
            codes += [409, 413, 415, 422]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        component = self.resolve_serializer(ProblemSerializer, "response")
        for code in self._error_codes():
            responses.setdefault(
                str(code),
                {
                    "description": DESCRIPTIONS[code],
                    "content": {PROBLEM_TYPE: {"schema": component.ref}},
                },
            )
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """``Authorization: Bearer <key>`` in the schema (api.auth)."""

    target_class = "api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Bearer",  # noqa: S106 - the scheme's name, not a secret
        )
