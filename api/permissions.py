"""Scopes: each view names the scope each of its actions needs."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions

from .models import ApiClient


def required_scope(view, request) -> str | None:
    """``view.scopes`` maps an action (viewsets) or a method to a scope; ``view.scope``
    is the one scope of the whole view."""
    scopes = getattr(view, "scopes", None) or {}
    action = getattr(view, "action", None)
    if action and action in scopes:
        return scopes[action]
    if request.method in scopes:
        return scopes[request.method]
    return getattr(view, "scope", None)


class HasScope(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        client = request.auth
        if not isinstance(client, ApiClient):
            raise exceptions.NotAuthenticated(
                _("An API key is needed: “Authorization: Bearer <key>”.")
            )
        scope = required_scope(view, request)
        if scope is None:  # a view that forgot to say: nobody
            _counted(view, request)
            return False
        if not client.has_scope(scope):
            _counted(view, request)
            raise exceptions.PermissionDenied(
                _("This key does not have the scope “%(scope)s”.") % {"scope": scope}
            )
        return True


def _counted(view, request) -> None:
    """A refused call counts against the client's rate limit too (429 once over it). DRF
    checks the throttles only after the permissions, so without this a client hammering
    an endpoint it has no scope for would never be slowed down; an allowed call is
    counted by DRF, once, after this check."""
    view.check_throttles(request)
