"""Object permissions scoped by agency.

A role's permissions are the permissions of its Django group (``role:<role>``), set up
by workflows' post-migrate hook and editable in the admin. An officer holds roles per
agency (OfficerRole); ``user.has_perm(perm, obj)`` is true when the officer holds, in the
object's agency, a role whose group has ``perm``. A supervisor's role reaches the whole
subtree below its agency. Users are never put in the role groups themselves, so no role
grants anything outside its agency.
"""

from __future__ import annotations

from django.contrib.auth.models import Group

from .models import Agency, OfficerRole
from .roles import SUBTREE_ROLES, group_name


def agency_of(obj) -> Agency | None:
    if isinstance(obj, Agency):
        return obj
    return getattr(obj, "handling_agency", None)


def role_permissions() -> dict[str, set[str]]:
    """Map role → set of "app_label.codename" its group grants."""
    mapping: dict[str, set[str]] = {}
    groups = Group.objects.filter(name__startswith="role:").prefetch_related(
        "permissions__content_type"
    )
    for group in groups:
        role = group.name.removeprefix("role:")
        mapping[role] = {
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
        }
    return mapping


def held_roles(user) -> list[tuple[int, str, str]]:
    """(agency id, agency path, role) for every role the user holds; cached on the user."""
    if not hasattr(user, "_motcua_roles"):
        user._motcua_roles = list(
            OfficerRole.objects.filter(user=user).values_list("agency_id", "agency__path", "role")
        )
    return user._motcua_roles


def roles_in(user, agency: Agency) -> set[str]:
    """The roles the user can act in for ``agency``."""
    roles = set()
    for agency_id, path, role in held_roles(user):
        if agency_id == agency.pk or (role in SUBTREE_ROLES and agency.path.startswith(path)):
            roles.add(role)
    return roles


class AgencyRoleBackend:
    """Authorisation only: it never authenticates anybody."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm: str, obj=None) -> bool:
        if obj is None or not user.is_active or user.is_anonymous:
            return False
        agency = agency_of(obj)
        if agency is None:
            return False
        roles = roles_in(user, agency)
        if not roles:
            return False
        if not hasattr(user, "_motcua_role_perms"):
            user._motcua_role_perms = role_permissions()
        return any(perm in user._motcua_role_perms.get(role, ()) for role in roles)


__all__ = ["AgencyRoleBackend", "group_name", "roles_in", "held_roles"]
