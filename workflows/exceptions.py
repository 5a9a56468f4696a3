"""Errors a service raises, each with a message fit to show the person who acted."""

from django.core.exceptions import PermissionDenied, ValidationError


class ActionNotAllowed(Exception):
    """The action does not apply to the dossier as it is now (wrong state, unmet condition)."""


__all__ = ["ActionNotAllowed", "PermissionDenied", "ValidationError"]
