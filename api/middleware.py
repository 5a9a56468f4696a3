"""The record of API calls: client, endpoint, dossier, status code; never the bodies."""

from __future__ import annotations

import re
import time

from config.requestid import current_request_id

from .models import ApiCall

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def endpoint_of(route: str) -> str:
    """A route as the endpoint's name: ``/api/v1/dossiers/{code}/``, not its regex."""
    return "/" + _GROUP.sub(r"{\1}", route).replace("^", "").replace("$", "")


def note_dossier(request, dossier) -> None:
    """Name the dossier a call was about, for its record (views call this)."""
    django_request = getattr(request, "_request", request)
    django_request.api_dossier_id = getattr(dossier, "pk", dossier)


class ApiCallMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/v1/"):
            return self.get_response(request)
        started = time.monotonic()
        response = self.get_response(request)
        client = getattr(request, "api_client", None)
        if client is not None:
            match = getattr(request, "resolver_match", None)
            ApiCall.objects.create(
                client=client,
                method=request.method[:8],
                endpoint=(endpoint_of(match.route) if match else request.path)[:200],
                dossier_id=getattr(request, "api_dossier_id", None),
                status_code=response.status_code,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_id=current_request_id() or "",
            )
        return response
