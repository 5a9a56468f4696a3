"""Which agency holds a stage of a dossier (procedures.flowspec.HOLDERS): the handling
agency, its parent, or the nearest agency at a named level on the way up (the handling
agency itself when it is at that level). A hand-off stage's task is offered to that
agency's officers."""

from __future__ import annotations

from procedures.models import Agency


class NoHolder(Exception):
    """The agency tree has no agency to hold the stage (the procedure cannot be handled
    by that agency: filing refuses it beforehand)."""


def holder_of(agency: Agency, held_by: str) -> Agency | None:
    if held_by == "handling":
        return agency
    if held_by == "parent":
        return agency.parent
    codes = [code for code in agency.path.strip("/").split("/") if code]
    found = {a.code: a for a in Agency.objects.filter(code__in=codes, kind=held_by)}
    for code in reversed(codes):  # the nearest first
        if code in found:
            return found[code]
    return None


def stage_holder(dossier, held_by: str) -> Agency:
    agency = holder_of(dossier.handling_agency, held_by)
    if agency is None:
        raise NoHolder(f"no agency {held_by!r} above {dossier.handling_agency.code}")
    return agency


def missing_holders(version, agency: Agency) -> list[str]:
    """The stages of ``version`` that no agency would hold for a dossier handled by
    ``agency`` (empty: it can handle the procedure)."""
    return [
        stage["code"]
        for stage in version.spec["stages"]
        if holder_of(agency, stage.get("held_by", "handling")) is None
    ]
