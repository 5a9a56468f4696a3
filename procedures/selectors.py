"""Reads of the catalog, written once with the joins they need."""

from django.db.models import QuerySet

from .models import Agency, OfficerRole, Procedure
from .roles import Role
from .titles import default_title


def published_procedures() -> QuerySet[Procedure]:
    return (
        Procedure.objects.filter(is_active=True, current_version__isnull=False)
        .select_related("current_version")
        .order_by("current_version__sector", "code")
    )


# The role whose title a paper prints when an officer holds several: the signer's first.
_TITLE_ORDER = (Role.SIGNER, Role.HEAD, Role.SPECIALIST, Role.RECEPTION, Role.SUPERVISOR)


def officer_title(*, user, agency: Agency) -> str:
    """The title ``user`` signs under for a paper of ``agency``: the title of the role they
    hold there (a signer's before a head's), or, for an officer holding no role in it (a
    department's officer acting for its committee), the agency's signer's default."""
    rows = list(OfficerRole.objects.filter(user=user, agency=agency).select_related("agency"))
    rows.sort(key=lambda row: _TITLE_ORDER.index(row.role) if row.role in _TITLE_ORDER else 99)
    if rows:
        return rows[0].printed_title
    return default_title(Role.SIGNER, agency)
