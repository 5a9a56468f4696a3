"""Object permissions scoped by agency.

A role's permissions are the permissions of its Django group (``role:<role>``), set up
by workflows' post-migrate hook and editable in the admin. An officer holds roles per
agency (OfficerRole). ``has_agency_perm(user, perm, obj)`` is true when the officer holds,
in the object's agency, a role whose group has ``perm``:

- a role held in the agency itself acts for it; the desk's and the specialists' roles held
  in one of its departments act for it too;
- a supervisor's role reaches the whole subtree below the agency where it is held.

Only this check decides who acts on a dossier. A global permission, a group membership
or superuser status grants nothing here: a site administrator is not an officer.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Permission

from .memo import Recent
from .models import Agency, OfficerRole
from .roles import DEPARTMENT_ROLES, SUBTREE_ROLES


@dataclass(frozen=True)
class HeldRole:
    agency_id: int
    parent_id: int | None
    kind: str
    path: str
    role: str


def agency_of(obj) -> Agency | None:
    if isinstance(obj, Agency):
        return obj
    return getattr(obj, "handling_agency", None)


def _read_role_permissions() -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = {}
    rows = Permission.objects.filter(group__name__startswith="role:").values_list(
        "group__name", "content_type__app_label", "codename"
    )
    for group, app_label, codename in rows:
        mapping.setdefault(group.removeprefix("role:"), set()).add(f"{app_label}.{codename}")
    return mapping


def held_roles(user) -> list[HeldRole]:
    """Every role the user holds, with where; cached on the user object (one request)."""
    if not hasattr(user, "_motcua_roles"):
        rows = OfficerRole.objects.filter(user=user).values_list(
            "agency_id", "agency__parent_id", "agency__kind", "agency__path", "role"
        )
        user._motcua_roles = [HeldRole(*row) for row in rows]
    return user._motcua_roles


def _reaches(held: HeldRole, agency: Agency) -> bool:
    if held.agency_id == agency.pk:
        return True
    if (
        held.kind == Agency.Kind.DEPARTMENT
        and held.parent_id == agency.pk
        and held.role in DEPARTMENT_ROLES
    ):
        return True
    return held.role in SUBTREE_ROLES and agency.path.startswith(held.path)


def roles_in(user, agency: Agency) -> set[str]:
    """The roles the user can act in for ``agency``."""
    if not user.is_authenticated or not user.is_active:
        return set()
    return {held.role for held in held_roles(user) if _reaches(held, agency)}


# Changed only in the admin (a role group's permissions) or by the post-migrate hook: a
# change is seen at once in its own process (procedures.apps connects ``forget``), and by
# the others within the lifetime below.
ROLE_PERMISSIONS_LIFETIME = 10  # seconds
_role_permissions = Recent(_read_role_permissions, ROLE_PERMISSIONS_LIFETIME)


def role_permissions() -> dict[str, set[str]]:
    """Map role → set of "app_label.codename" its group grants (one query, kept for
    ROLE_PERMISSIONS_LIFETIME in the process)."""
    return _role_permissions.get()


def forget_role_permissions(*args, **kwargs) -> None:
    _role_permissions.forget()


def user_role_permissions(user) -> dict[str, set[str]]:
    """role_permissions(), read once per user object (one request)."""
    if not hasattr(user, "_motcua_role_perms"):
        user._motcua_role_perms = role_permissions()
    return user._motcua_role_perms


def has_agency_perm(user, perm: str, obj) -> bool:
    agency = agency_of(obj)
    if agency is None or not agency.path:
        return False
    roles = roles_in(user, agency)
    if not roles:
        return False
    granted = user_role_permissions(user)
    return any(perm in granted.get(role, ()) for role in roles)


class AgencyRoleBackend:
    """Authorisation only: it never authenticates anybody, and grants nothing globally."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user, perm: str, obj=None) -> bool:
        if obj is None:
            return False
        return has_agency_perm(user, perm, obj)
