"""Recording an access: one INSERT, with nothing read that the view has not read already."""

from __future__ import annotations

from django.db import OperationalError, connection
from django.utils import timezone

from config.network import client_address
from procedures.auth import held_roles
from procedures.roles import SUBTREE_ROLES
from workflows.models import Dossier, DossierComponent

from .models import BY_CODE, AccessKind, DossierAccess


def _office(user, dossier: Dossier) -> int | None:
    """The agency the officer acted for: a role held in the handling agency, else in one of
    its departments, else a supervisor's agency above it, else any (a consulted unit).
    Roles are cached on the user by the permission check that let them in."""
    held = held_roles(user)
    agency_id = dossier.handling_agency_id
    for match in (
        lambda h: h.agency_id == agency_id,
        lambda h: h.parent_id == agency_id,
        lambda h: h.role in SUBTREE_ROLES,
        lambda h: True,
    ):
        found = next((h for h in held if match(h)), None)
        if found is not None:
            return found.agency_id
    return None


def access_record(*, dossier: Dossier, by, kind: str, obj=None, request) -> DossierAccess:
    """Record that ``by`` saw ``dossier`` (``kind``; ``obj`` the file or paper opened).

    Openings by verification code are anonymous whoever is logged in: holding the code
    is what let them in. The applicant's own openings are marked as theirs, so their page
    never lists them as someone else's.
    """
    kind = AccessKind(kind)
    user = None if kind in BY_CODE or not getattr(by, "is_authenticated", False) else by
    by_applicant = user is not None and dossier.applicant_user_id == user.pk
    component = obj if isinstance(obj, DossierComponent) else None
    document = obj if obj is not None and component is None else None
    row = {
        "dossier": dossier,
        "dossier_agency_id": dossier.handling_agency_id,
        "kind": kind,
        "user": user,
        "agency_id": _office(user, dossier) if user is not None and not by_applicant else None,
        "by_applicant": by_applicant,
        "component": component,
        "document_pk": document.pk if document is not None else None,
        "document_kind": getattr(document, "kind", "") or "",
        "client_ip": client_address(request),
    }
    attempt = 1
    while True:
        try:
            return DossierAccess.objects.create(at=timezone.now(), **row)
        except OperationalError as exc:
            # Its foreign keys lock the officer's agency and the dossier FOR KEY SHARE: a
            # transaction locking them FOR UPDATE the other way round makes PostgreSQL pick
            # a victim. On its own (no outer transaction to abort) the INSERT is simply
            # made again: the page is shown and the access recorded, once.
            if attempt >= RETRIES or connection.in_atomic_block or not _transient(exc):
                raise
            attempt += 1


RETRIES = 3
# deadlock_detected, serialization_failure: a transaction that may simply be made again.
_TRANSIENT = {"40P01", "40001"}


def _transient(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) in _TRANSIENT
