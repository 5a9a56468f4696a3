"""Errors a service raises, each with a message fit to show the person who acted."""

from django.core.exceptions import PermissionDenied, ValidationError


class ActionNotAllowed(Exception):
    """The action does not apply to the dossier as it is now (wrong state, unmet condition)."""


__all__ = ["ActionNotAllowed", "PermissionDenied", "ValidationError"]


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A validation error as {field: [messages]}; errors not tied to a field under
    "__all__"."""
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"__all__": exc.messages}
