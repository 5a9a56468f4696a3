"""Which events ask for which papers (workflows.events hands them over after commit)."""

from __future__ import annotations

from workflows.events import handles
from workflows.models import OutgoingEvent

from . import retention  # noqa: F401 - registers the erasure's expander and handler
from .models import Kind
from .services import document_request, result_key

PAPERS = {
    "dossier.receive": [Kind.RECEIPT],
    "dossier.request_supplement": [Kind.SUPPLEMENT_REQUEST],
    "dossier.reject_at_reception": [Kind.REFUSAL],
    "dossier.refuse": [Kind.REFUSAL, Kind.CONTROL_SHEET],
    "dossier.reschedule": [Kind.APOLOGY],
    "dossier.approve": [Kind.RESULT],
    "dossier.issue": [Kind.CONTROL_SHEET],
}


def _make_handler(kinds):
    def handle(event: OutgoingEvent) -> None:
        if event.dossier_id is None:
            return
        for kind in kinds:
            key = result_key(event.dossier) if kind == Kind.RESULT else f"event:{event.pk}"
            document_request(dossier=event.dossier, kind=kind, source_key=key, event=event)

    return handle


for _name, _kinds in PAPERS.items():
    handles(_name)(_make_handler(_kinds))
