"""A dossier's papers at the end of its retention (workflows.services.retention).

In the erasure's own transaction every paper of the dossier is marked erased, so no page
offers it any more; after commit the outbox's handler deletes the PDFs' bytes. The rows,
their SHA-256 and verification codes stay: the public check of a code still says what
was issued, and when its file was erased.
"""

from __future__ import annotations

from workflows.events import expands, handles
from workflows.models import OutgoingEvent

from .models import Document


@expands("dossier.erase_files")
def _mark_erased(event: OutgoingEvent) -> None:
    if event.dossier_id is not None:
        Document.objects.filter(dossier_id=event.dossier_id, erased_at__isnull=True).update(
            erased_at=event.created_at
        )


def document_files_delete(*, dossier_id: int) -> int:
    """Delete the bytes of the dossier's erased papers; idempotent."""
    deleted = 0
    for document in Document.objects.filter(dossier_id=dossier_id, erased_at__isnull=False).exclude(
        file=""
    ):
        document.file.storage.delete(document.file.name)
        Document.objects.filter(pk=document.pk).update(file="")
        deleted += 1
    return deleted


@handles("dossier.erase_files")
def _delete_files(event: OutgoingEvent) -> None:
    if event.dossier_id is not None:
        document_files_delete(dossier_id=event.dossier_id)
