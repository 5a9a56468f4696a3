"""Reads of the catalog, written once with the joins they need."""

from django.db.models import QuerySet
from django.utils.translation import gettext

from .memo import Recent
from .models import Agency, OfficerRole, Procedure, ProcedureVersion, in_force
from .roles import Role
from .titles import default_title


def published_procedures() -> QuerySet[Procedure]:
    return (
        Procedure.objects.filter(is_active=True, current_version__isnull=False)
        .select_related("current_version")
        .order_by("current_version__sector", "code")
    )


def procedure_in_force(code: str, day) -> tuple[Procedure | None, ProcedureVersion | None]:
    """The procedure of ``code`` and its version in force on ``day``
    (``Procedure.version_in_force``; None while the procedure is closed or has none yet):
    one read when it has one, two when it has not."""
    active = ProcedureVersion.objects.filter(procedure__code=code, procedure__is_active=True)
    version = in_force(active.select_related("procedure"), day).first()
    if version is not None:
        return version.procedure, version
    return Procedure.objects.filter(code=code).first(), None


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


def stage_names(version_ids) -> dict[int, ProcedureVersion]:
    """The versions of a list of tasks (their stages' names), read in one query: a page of
    25 tasks of a few procedures reads a few specifications, whatever the page."""
    ids = set(version_ids)
    if not ids:
        return {}
    return {v.pk: v for v in ProcedureVersion.objects.filter(pk__in=ids).only("spec")}


def stage_choices(procedures) -> list[tuple[str, str]]:
    """The stages of the current versions of ``procedures`` (code, name), each code once,
    for a filter of tasks by stage."""
    from .flowspec import CONSULT_STAGE

    seen: dict[str, str] = {}
    for procedure in procedures:
        version = procedure.current_version
        if version is None:
            continue
        for stage in version.spec["stages"]:
            seen.setdefault(stage["code"], version.stage_name(stage["code"]))
    seen.setdefault(CONSULT_STAGE, gettext("Consultation"))
    return list(seen.items())


MB = 1_048_576

# Procedure versions are never changed, only added: the limits are worked out again only
# when the newest version is not the one they were worked out for (one indexed read of one
# row per upload, instead of reading every version's specification).
_limits: dict[tuple, tuple[int, int]] = {}


def _largest_components() -> tuple[int, int]:
    """(largest component, largest sum of one procedure's components), in bytes, over every
    version (a draft keeps the version it was started under)."""
    # Its id and its content's hash name it: its specification, read and compared on
    # every upload, cost more than the rest of this together.
    newest = ProcedureVersion.objects.order_by("-pk").values_list("pk", "content_hash").first()
    if newest not in _limits:
        largest, total = 0, 0
        for spec in ProcedureVersion.objects.values_list("spec", flat=True).iterator():
            sizes = [c["max_size_mb"] * MB for c in (spec or {}).get("components", [])]
            largest = max([largest, *sizes])
            total = max(total, sum(sizes))
        _limits.clear()
        _limits[newest] = (largest, total)
    return _limits[newest]


# Whether the catalog has a new version is asked again after this long (or at once in the
# process that writes one: procedures.apps): a version published on another node may be
# refused a larger upload here for that long, before the form's own checks.
UPLOAD_LIMITS_LIFETIME = 10  # seconds
_recent_limits = Recent(_largest_components, UPLOAD_LIMITS_LIFETIME)


def forget_upload_limits(*args, **kwargs) -> None:
    _recent_limits.forget()


def upload_limits() -> tuple[int, int]:
    """(per file, all the files of one filing) in bytes that any page taking a filing's
    files accepts: the catalog's largest component (at least 1 MB) and its largest sum."""
    largest, total = _recent_limits.get()
    # Every page that takes files takes them no larger than the largest component; the
    # one-file pages (a certificate) take much smaller ones and check them in their form.
    largest = max(largest, MB)
    return largest, max(total, largest)
