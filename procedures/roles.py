"""The officer roles. A role is always held in one agency (see OfficerRole)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RECEPTION = "reception", _("Reception (one-stop desk)")
    SPECIALIST = "specialist", _("Specialist")
    HEAD = "head", _("Head of unit")
    SIGNER = "signer", _("Signer")
    SUPERVISOR = "supervisor", _("Supervisor")
    # An API client's service account (api.ApiClient): files for applicants through the
    # integration API in its agency and below; never an officer, never a stage.
    INTEGRATION = "integration", _("Integration (API client)")


# Roles whose reach is the agency and everything below it; the others act only in
# the agency where they are held.
SUBTREE_ROLES = frozenset({Role.SUPERVISOR, Role.INTEGRATION})

# Roles a procedure stage may name (a supervisor watches; it never holds a stage).
STAGE_ROLES = frozenset({Role.RECEPTION, Role.SPECIALIST, Role.HEAD, Role.SIGNER})


def group_name(role: str) -> str:
    """The Django group that carries a role's permissions."""
    return f"role:{role}"


# Roles that a department's officer holds on behalf of its committee: the desk and the
# specialists work in departments; heads, signers and supervisors act in their own agency.
DEPARTMENT_ROLES = frozenset({Role.RECEPTION, Role.SPECIALIST})
