"""What a push says that other parts of motcua know: the fee and how it was paid, the
papers reused from the citizen's data store, and whether the applicant's identity was
verified with VNeID. One small function per fact, each reading the part that owns it."""

from __future__ import annotations

from dataclasses import dataclass

from workflows.models import Dossier, FeeChannel, FeeStatus


@dataclass(frozen=True)
class Fee:
    name: str
    amount: int  # VND
    paid_online: bool


def fees(dossier: Dossier) -> list[Fee]:
    """The dossier's fee (workflows.Fee, made at reception), unless it is not owed (free,
    exempted or cancelled), and whether it was paid online."""
    from workflows.services.fees import fee_for_dossier

    fee = fee_for_dossier(dossier=dossier)
    if fee is None or fee.status not in (FeeStatus.DUE, FeeStatus.PAID) or not fee.amount_due:
        return []
    note = (dossier.procedure_version.spec.get("fee") or {}).get("note") or {}
    name = note.get("vi") if isinstance(note, dict) else ""
    return [
        Fee(
            name=name or "Phí, lệ phí",
            amount=int(fee.amount_due),
            paid_online=fee.status == FeeStatus.PAID and fee.channel == FeeChannel.ONLINE,
        )
    ]


def component_reused(dossier: Dossier, component_code: str) -> bool:
    """A current file of the component was taken from the citizen's data store (an earlier
    dossier's accepted paper or signed result) rather than uploaded."""
    return dossier.components.filter(
        component_code=component_code, superseded_at__isnull=True
    ).exclude(reused_kind="").exists()


def result_reused(dossier: Dossier) -> bool:
    """A signed result of the dossier was taken by a later dossier from the data store."""
    from documents.store import result_flags

    return any(flag["reused"] for flag in result_flags(dossier))


def identity_verified(dossier: Dossier) -> bool:
    """The applicant's personal ID number was vouched for by the national sign-in (VNeID),
    and it is the one the dossier names."""
    user = dossier.applicant_user
    profile = getattr(user, "citizen_profile", None) if user is not None else None
    return bool(
        profile is not None
        and profile.is_verified("id_number")
        and profile.id_number == dossier.applicant_id_number
    )


def applicant_type(dossier: Dossier) -> str:
    """ "citizen" or "organisation": motcua files for persons only (a personal ID number,
    an ethnic group), so a citizen."""
    return "citizen"
