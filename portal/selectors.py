"""Reads for the citizen's pages."""

from __future__ import annotations

import hmac

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from config.search import fold
from procedures.forms import localized
from procedures.models import Agency, Procedure
from workflows.models import Dossier, HistoryEntry, Status

NEXT_STEP = {
    Status.DRAFT: _("Finish the form, check it and file it."),
    Status.SUBMITTED: _(
        "The one-stop desk is checking that your dossier is complete. It gives the dossier "
        "its code, the lookup code and the receipt when it accepts it."
    ),
    Status.SUPPLEMENT_REQUESTED: _("Add or fix the items listed below, then file again."),
    Status.RECEIVED: _("Your dossier has been received and goes to appraisal."),
    Status.IN_REVIEW: _("Specialists are appraising your dossier."),
    Status.FEE_REQUESTED: _(
        "Your dossier has been appraised. Pay the fee shown below: online, at the one-stop "
        "desk or by bank transfer. Processing resumes once the payment is recorded; the "
        "time waiting for it does not count against the time limit."
    ),
    Status.APPROVED: _("Your dossier is approved; the result is being signed."),
    Status.SIGNED: _("The result is signed and about to be issued."),
    Status.ISSUED: _("The result is ready: you can download it below."),
    Status.REJECTED_AT_RECEPTION: _("The desk did not accept this dossier; the reasons are below."),
    Status.REFUSED: _("Your application was refused; the reasons are below."),
    Status.WITHDRAWN: _("You withdrew this dossier."),
    Status.DISCARDED: _(
        "This draft was left unchanged too long and has been discarded with its files; "
        "start a new application if you still need one."
    ),
}


def catalog(*, query: str = "", sector: str = "", agency: Agency | None = None) -> QuerySet:
    """Published procedures, searched by name or code, by sector, and by the agency that
    handles them (through its level)."""
    procedures = Procedure.objects.filter(
        is_active=True, current_version__isnull=False
    ).select_related("current_version")
    if query and (folded := fold(query)):
        # Code, Vietnamese or English name, whatever the accents and case ("ho tro",
        # "DÂN TỘC"). A catalog holds hundreds of rows, not millions: no index needed.
        procedures = procedures.filter(current_version__search_text__contains=folded)
    if sector:
        procedures = procedures.filter(current_version__sector=sector)
    if agency is not None:
        procedures = procedures.filter(current_version__agency_level=agency.kind)
    return procedures.order_by("current_version__sector", "code")


def sectors() -> list[str]:
    return sorted(
        set(
            Procedure.objects.filter(is_active=True, current_version__isnull=False).values_list(
                "current_version__sector", flat=True
            )
        )
    )


def filing_agencies(procedure: Procedure) -> QuerySet[Agency]:
    """The agencies where this procedure can be filed (those of its handling level)."""
    return Agency.objects.filter(kind=procedure.current_version.agency_level).order_by("name")


def my_dossiers(*, user) -> QuerySet[Dossier]:
    return (
        Dossier.objects.filter(applicant_user=user)
        .select_related("procedure_version", "handling_agency")
        .order_by("-created_at")
    )


def my_dossier(*, user, pk) -> Dossier | None:
    return my_dossiers(user=user).filter(pk=pk).first()


def public_lookup(*, code: str, secret: str) -> Dossier | None:
    """The dossier whose code and receipt secret both match (compared in constant time)."""
    # The page shows the status and dates, read alone: the applicant's form and the
    # procedure (needed only for a dossier not yet given its due date) stay unread.
    dossier = (
        Dossier.objects.only(
            "code",
            "lookup_secret",
            "status",
            "submitted_at",
            "received_at",
            "closed_at",
            "due_date",
            "procedure_version_id",
        )
        .filter(code__iexact=code.strip())
        .first()
    )
    given = secret.strip().upper().encode()
    expected = (dossier.lookup_secret if dossier else "0" * 8).encode()
    if dossier is None or not dossier.lookup_secret:
        hmac.compare_digest(given, expected)
        return None
    return dossier if hmac.compare_digest(given, expected) else None


def latest_supplement_request(dossier: Dossier) -> HistoryEntry | None:
    return dossier.history.filter(action="request_supplement").order_by("-seq").first()


def supplement_items(dossier: Dossier, entry: HistoryEntry | None) -> list[dict]:
    """The items asked for, with their names as the citizen knows them."""
    if entry is None:
        return []
    spec = dossier.procedure_version.spec
    names = {c["code"]: localized(c["name"]) for c in spec["components"]}
    names.update({f["name"]: localized(f["label"]) for f in spec["fields"]})
    return [
        {
            "code": item["code"],
            "name": names.get(item["code"], item["code"]),
            "reason": item["reason"],
        }
        for item in entry.data.get("items", [])
    ]


CITIZEN_ACTIONS = {
    "submit",
    "hand_over",
    "inspection",
    "resubmit",
    "receive",
    "request_supplement",
    "reject_at_reception",
    "start_review",
    "approve",
    "refuse",
    "sign",
    "issue",
    "withdraw",
    "reschedule",
    "request_fee",
    "fee_paid",
}


def citizen_timeline(dossier: Dossier) -> list[HistoryEntry]:
    """What happened, as the citizen should see it: no internal task hand-overs, no
    officers' names."""
    return list(dossier.history.filter(action__in=CITIZEN_ACTIONS).order_by("seq"))


def reasons(dossier: Dossier) -> HistoryEntry | None:
    """The written reasons of a refusal (at reception or after appraisal)."""
    return (
        dossier.history.filter(action__in=("reject_at_reception", "refuse"))
        .order_by("-seq")
        .first()
    )
