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
            return False
        if not client.has_scope(scope):
            raise exceptions.PermissionDenied(
                _("This key does not have the scope “%(scope)s”.") % {"scope": scope}
            )
        return True
