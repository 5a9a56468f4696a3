"""What one push tells the portal about one step of a dossier.

Built when the push is sent, from the step (its national status and time, frozen when
it happened) and the dossier as it stands (its code, applicant, files); then renamed to
the portal's field names (``fields``). Dates that belong to a later step are left out
(a status 1 sent after the reception does not claim a reception date). Names in
Vietnamese, whatever the worker's language: the portal is Vietnamese.
"""

from __future__ import annotations

from django.conf import settings

from documents.models import DocumentStatus
from documents.services import current_result
from workflows.models import FINAL, Dossier

from . import facts, fields
from .models import ForwardedDossier, PortalPush

RESULT_NAME = "Kết quả giải quyết thủ tục hành chính"


def portal_code(dossier: Dossier) -> str | None:
    """What the portal knows the dossier by: its own code for a dossier it forwarded,
    else motcua's (given at reception; None before)."""
    forwarded = ForwardedDossier.objects.filter(dossier_id=dossier.pk).first()
    return forwarded.portal_code if forwarded is not None else dossier.code


def _vi(text: dict | None) -> str:
    return (text or {}).get("vi", "")


def _components(dossier: Dossier) -> list[dict]:
    attached = set(
        dossier.components.filter(superseded_at__isnull=True, erased_at__isnull=True)
        .values_list("component_code", flat=True)
        .distinct()
    )
    return [
        {
            "code": spec["code"],
            "name": _vi(spec.get("name")),
            "digitised": int(spec["code"] in attached),
            "reused": int(facts.component_reused(dossier, spec["code"])),
        }
        for spec in dossier.procedure_version.spec["components"]
    ]


def _results(dossier: Dossier, status: int) -> list[dict]:
    if status < 9:  # processed (9) and returned (10) are the steps with a result
        return []
    document = current_result(dossier)
    if document is None:
        return []
    ready = document.status in (DocumentStatus.RENDERED, DocumentStatus.SIGNED)
    return [
        {
            "code": document.verification_code,
            "name": RESULT_NAME,
            "digitised": int(bool(ready and document.file and not document.erased_at)),
            "reused": int(facts.result_reused(dossier)),
        }
    ]


def _first_filed(push: PortalPush):
    first = (
        PortalPush.objects.filter(dossier_id=push.dossier_id, national_status=1)
        .order_by("pk")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return first or push.occurred_at


def build(push: PortalPush, dossier: Dossier) -> dict:
    """The push in motcua's names (``fields.rename`` gives the portal's)."""
    at = push.occurred_at
    status = push.national_status
    received = dossier.received_at if dossier.received_at and dossier.received_at <= at else None
    closed = dossier.closed_at if dossier.status in FINAL and dossier.closed_at else None
    if closed is not None and closed > at:
        closed = None
    procedure = dossier.procedure_version.procedure
    return {
        "dossier_code": portal_code(dossier),
        "procedure_code": procedure.code,
        "procedure_name": _vi(dossier.procedure_version.spec.get("name")) or procedure.code,
        "agency_code": dossier.handling_agency.code,
        "channel": fields.CHANNEL_CODES[dossier.channel],
        "applicant_type": fields.APPLICANT_TYPE_CODES[facts.applicant_type(dossier)],
        "applicant_name": dossier.applicant_name,
        "applicant_id_number": dossier.applicant_id_number,
        "identity_verified": int(facts.identity_verified(dossier)),
        "submitted_at": fields.portal_date(_first_filed(push)),
        "received_at": fields.portal_date(received),
        "due_at": fields.portal_date(dossier.due_date if received else None),
        "status": status,
        "status_at": fields.portal_date(at),
        "closed_at": fields.portal_date(closed),
        "fees": [
            {"name": fee.name, "amount": fee.amount, "paid_online": int(fee.paid_online)}
            for fee in facts.fees(dossier)
        ],
        "components": _components(dossier),
        "results": _results(dossier, status),
    }


def portal_payload(push: PortalPush, dossier: Dossier) -> dict:
    """The body sent: the payload under the portal's names (settings' overrides applied)."""
    overrides = settings.MOTCUA["CONNECTORS"].get("national_portal", {}).get("FIELDS")
    return fields.rename(build(push, dossier), fields.names(overrides))
