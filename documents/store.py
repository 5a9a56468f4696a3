"""Results in the citizen's data store (``workflows.store``): the signed result PDF of each
of the citizen's issued dossiers, the provider installed by ``DocumentsConfig.ready()``;
and the results' digitised and reused flags, for the national portal's sync.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from workflows.models import Dossier, DossierComponent, PaperKind, Status
from workflows.store import Paper, PaperProvider

from .models import Document, DocumentStatus, Kind


def _signed_results(user):
    """The user's signed results of issued dossiers still held, newest first (a dossier
    approved twice may hold an older signed result too: only its newest counts)."""
    if not getattr(user, "is_authenticated", False):
        return Document.objects.none()
    return (
        Document.objects.filter(
            kind=Kind.RESULT,
            status=DocumentStatus.SIGNED,
            erased_at__isnull=True,
            dossier__applicant_user=user,
            dossier__status=Status.ISSUED,
            dossier__erased_at__isnull=True,
        )
        .exclude(file="")
        .select_related("dossier__procedure_version")
        .order_by("dossier_id", "-created_at", "-pk")
    )


class ResultPapers(PaperProvider):
    kind = PaperKind.RESULT

    def _paper(self, document: Document) -> Paper:
        dossier = document.dossier
        return Paper(
            kind=self.kind,
            object_id=document.pk,
            dossier=dossier,
            name=_("Result: %(procedure)s") % {"procedure": dossier.procedure_version.display_name},
            original_name=document.filename,
            content_type="application/pdf",
            size=document.size,
            sha256=document.sha256,
            at=document.signed_at or dossier.closed_at or document.created_at,
            file=document.file,
        )

    def _newest(self, documents) -> list[Document]:
        seen: set[int] = set()
        newest = []
        for document in documents:
            if document.dossier_id not in seen:
                seen.add(document.dossier_id)
                newest.append(document)
        return newest

    def papers(self, user) -> list[Paper]:
        found = self._newest(_signed_results(user)[:200])
        return sorted((self._paper(d) for d in found), key=lambda p: p.at, reverse=True)

    def paper(self, user, object_id: int) -> Paper | None:
        document = _signed_results(user).filter(pk=object_id).first()
        if document is None:
            return None
        newest = _signed_results(user).filter(dossier_id=document.dossier_id).first()
        return self._paper(document) if newest.pk == document.pk else None


def result_flags(dossier: Dossier) -> list[dict]:
    """Each result of the dossier, for the national portal's sync: ``digitised`` (issued as a
    signed electronic PDF) and ``reused`` (a later dossier took it from the data store)."""
    results = list(dossier.documents.filter(kind=Kind.RESULT).order_by("created_at", "pk"))
    reused = set(
        DossierComponent.objects.filter(
            reused_kind=PaperKind.RESULT, reused_object_id__in=[d.pk for d in results]
        ).values_list("reused_object_id", flat=True)
    )
    return [
        {
            "verification_code": d.verification_code,
            "digitised": d.status == DocumentStatus.SIGNED and bool(d.sha256),
            "reused": d.pk in reused,
        }
        for d in results
        if d.status == DocumentStatus.SIGNED
    ]
