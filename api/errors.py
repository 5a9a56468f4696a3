"""Every API error as RFC 9457 problem details (``application/problem+json``).

The title and detail are in the language of ``Accept-Language`` (Vietnamese first); field
errors are listed with the path of the field (``form_data.birth_date``). A service's own
errors (workflows.exceptions) are mapped here, so views only call the service.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from workflows.exceptions import ActionNotAllowed, error_dict

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
# https://www.rfc-editor.org/rfc/rfc9457#section-4.2.1: "about:blank" means the title is
# the HTTP status phrase; ours are more precise, so each kind has its own URI.
TYPE_BASE = "https://motcua.vn/problems/"


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: ("invalid-request", _("The request is not valid.")),
        401: ("not-authenticated", _("An API key is needed.")),
        403: ("forbidden", _("This key may not do this.")),
        404: ("not-found", _("Not found.")),
        405: ("method-not-allowed", _("This method is not allowed here.")),
        406: ("not-acceptable", _("This response format is not available.")),
        409: ("conflict", _("The action does not apply to the dossier as it is now.")),
        413: ("too-large", _("The request is too large.")),
        415: ("unsupported-media-type", _("This content type is not accepted.")),
        422: ("unprocessable", _("The request cannot be processed.")),
        429: ("too-many-requests", _("Too many requests.")),
        500: ("server-error", _("An error occurred on the server.")),
        503: ("unavailable", _("The service is temporarily unavailable.")),
    }


def _flatten(detail, path: str = "") -> list[dict]:
    """DRF's nested error detail as a flat list of {field, message, code}."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", "__all__") else str(key)
            out += _flatten(value, f"{path}.{name}" if path and name else (name or path))
        return out
    if isinstance(detail, list):
        out = []
        for index, item in enumerate(detail):
            # A list of messages is one field's; a list of objects is indexed.
            sub = f"{path}[{index}]" if isinstance(item, (dict, list)) else path
            out += _flatten(item, sub)
        return out
    return [{"field": path, "message": str(detail), "code": getattr(detail, "code", "invalid")}]


def problem(
    status_code: int, detail: str = "", *, errors=None, request=None, title=None, kind=None
):
    slug, default_title = _titles().get(status_code, ("error", _("Error.")))
    body = {
        "type": TYPE_BASE + (kind or slug),
        "title": str(title or default_title),
        "status": status_code,
    }
    if detail:
        body["detail"] = str(detail)
    if request is not None:
        body["instance"] = request.path
    if errors:
        body["errors"] = errors
    return JsonResponse(
        body,
        status=status_code,
        content_type=PROBLEM_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def problem_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(error_dict(exc))
    elif isinstance(exc, ActionNotAllowed):
        return problem(status.HTTP_409_CONFLICT, str(exc), request=request)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler (api_server_error) answers
    errors = None
    detail = ""
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        detail = _("Check the fields listed in “errors”.")
    elif isinstance(response.data, dict):
        detail = response.data.get("detail", "")
    out = problem(response.status_code, detail, errors=errors, request=request)
    for header in ("Retry-After", "WWW-Authenticate", "Allow"):
        if header in response:
            out[header] = response[header]
    return out


def is_api(request) -> bool:
    return request.path.startswith("/api/v1/")


def api_not_found(request, exception=None):
    return problem(404, _("There is no such endpoint."), request=request)


def api_server_error(request):
    return problem(500, _("Please try again later; the error has been logged."), request=request)
