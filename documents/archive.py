"""A dossier's archive package: one ZIP that can be checked with nothing but itself.

Members:

- ``dossier.json``: the dossier's facts (procedure and version, agency, applicant, form,
  dates, status, retention) and the list of its files and papers, erased ones included.
- ``history.json``: every history entry with exactly the fields its hash covers, its
  ``prev_hash`` and ``hash``, and how the hash is computed, so the chain can be checked
  again without motcua (the package's test does so).
- ``components/``: the uploaded files, each checked against its recorded SHA-256.
- ``papers/``: each paper issued twice: ``…-original.pdf`` as stored (for a signed one,
  byte for byte the signed file, whose signatures a PDF/A conversion would break), and
  ``…-pdfa.pdf``, rendered again from the paper's frozen content as PDF/A-3b, with the
  original embedded in it as its source file (PDF/A-3 allows such an attachment).
- ``manifest.json``: the SHA-256 and size of every other member, the history's head, and
  whether the chain verified when the package was made.

Files erased under retention are listed (name, size, SHA-256, when erased) but absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile

from django.utils import timezone
from weasyprint import Attachment

from workflows.history import verify_dossier
from workflows.models import Dossier, HistoryEntry

from .models import Document
from .pdf import render_template
from .services import _page_context

FORMAT = "motcua.archive.v1"
PDF_VARIANT = "pdf/a-3b"
HASH_METHOD = (
    "hash = SHA-256 (hex) of the UTF-8 JSON of {dossier, seq, at, actor, action, from, to, "
    "comment, data, prev} with keys sorted, no spaces and non-ASCII kept (Python: "
    "json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(',', ':'))); "
    "'at' is UTC ISO 8601 with microseconds; 'prev' is the previous entry's hash, empty for "
    "the first entry."
)


class ArchiveError(Exception):
    pass


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode(
        "utf-8"
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds") if moment else None


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "file"


def history_json(dossier: Dossier, entries: list[HistoryEntry]) -> dict:
    return {
        "dossier": dossier.pk,
        "head": {"count": dossier.history_count, "hash": dossier.history_hash},
        "hash_method": HASH_METHOD,
        "entries": [
            {
                "dossier": e.dossier_id,
                "seq": e.seq,
                "at": _iso(e.at),
                "actor": e.actor_id,
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "comment": e.comment,
                "data": e.data,
                "prev": e.prev_hash,
                "hash": e.hash,
                # Not hashed: who the actor was, for a reader of the archive.
                "actor_name": (e.actor.get_full_name() or e.actor.get_username())
                if e.actor_id
                else "",
            }
            for e in entries
        ],
    }


def _read(field, expected_sha256: str, what: str) -> bytes:
    with field.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != expected_sha256:
        raise ArchiveError(f"{what}: the stored bytes do not match the recorded SHA-256")
    return data


def dossier_archive(*, dossier: Dossier) -> bytes:
    """The dossier's archive package, as ZIP bytes. Raises ArchiveError when a stored file
    no longer matches its recorded hash (an archive never carries a silent corruption)."""
    dossier = Dossier.objects.select_related("procedure_version__procedure", "handling_agency").get(
        pk=dossier.pk
    )
    entries = list(dossier.history.select_related("actor").order_by("seq"))
    broken = verify_dossier(dossier, entries)
    version = dossier.procedure_version
    members: dict[str, bytes] = {}
    files, papers = [], []

    for component in dossier.components.select_related("reused_dossier").order_by(
        "uploaded_at", "pk"
    ):
        row = {
            "component": component.component_code,
            "name": component.original_name,
            "content_type": component.content_type,
            "size": component.size,
            "sha256": component.sha256,
            "uploaded_at": _iso(component.uploaded_at),
            "superseded_at": _iso(component.superseded_at),
            "erased_at": _iso(component.erased_at),
            # Taken from the applicant's data store: which paper of which earlier dossier.
            "reused_from": {
                "kind": component.reused_kind,
                "dossier": component.reused_dossier.code,
                "id": component.reused_object_id,
            }
            if component.reused_kind
            else None,
            "path": None,
        }
        if component.erased_at is None:
            suffix = _safe(component.original_name).rpartition(".")[2].lower()[:8]
            path = f"components/{component.pk}-{_safe(component.component_code)}.{suffix}"
            members[path] = _read(
                component.file, component.sha256, f"component {component.pk} of {dossier}"
            )
            row["path"] = path
        files.append(row)

    for document in Document.objects.filter(dossier=dossier).order_by("created_at", "pk"):
        row = {
            "kind": document.kind,
            "status": document.status,
            "verification_code": document.verification_code,
            "sha256": document.sha256,
            "signatures": document.signatures,
            "rendered_at": _iso(document.rendered_at),
            "signed_at": _iso(document.signed_at),
            "erased_at": _iso(document.erased_at),
            "original": None,
            "pdfa": None,
        }
        if document.erased_at is None and document.ready:
            stem = f"papers/{document.pk}-{document.kind}"
            original = _read(document.file, document.sha256, f"paper {document.pk} of {dossier}")
            members[f"{stem}-original.pdf"] = original
            pdfa = render_template(
                document.template,
                _page_context(document),
                pdf_variant=PDF_VARIANT,
                attachments=[
                    Attachment(
                        string=original,
                        name=f"{document.kind}-original.pdf",
                        description="The paper as issued (signed original)",
                        relationship="Source",
                    )
                ],
            ).pdf
            members[f"{stem}-pdfa.pdf"] = pdfa
            row.update(original=f"{stem}-original.pdf", pdfa=f"{stem}-pdfa.pdf")
        papers.append(row)

    facts = {
        "code": dossier.code,
        # The code, or "#42" for a dossier that never got one (refused at the desk).
        "reference": dossier.reference,
        "status": dossier.status,
        "procedure": {
            "code": version.procedure.code,
            "version": version.number,
            "content_hash": version.content_hash,
            "name": version.name,
            "retention_years": version.retention_years,
        },
        "agency": {"code": dossier.handling_agency.code, "name": dossier.handling_agency.name},
        "channel": dossier.channel,
        "applicant": {
            "name": dossier.applicant_name,
            "id_number": dossier.applicant_id_number,
            "address": dossier.applicant_address,
            "phone": dossier.applicant_phone,
            "email": dossier.applicant_email,
        },
        "form_data": dossier.form_data,
        "dates": {
            "created": _iso(dossier.created_at),
            "submitted": _iso(dossier.submitted_at),
            "received": _iso(dossier.received_at),
            "due": dossier.due_date.isoformat() if dossier.due_date else None,
            "decided": _iso(dossier.decided_at),
            "closed": _iso(dossier.closed_at),
            "files_erased": _iso(dossier.erased_at),
        },
        "timeliness": dossier.timeliness,
        "components": files,
        "papers": papers,
    }
    members["dossier.json"] = _json(facts)
    members["history.json"] = _json(history_json(dossier, entries))

    manifest = {
        "format": FORMAT,
        "dossier": dossier.code,
        "reference": dossier.reference,
        "made_at": _iso(timezone.now()),
        "history_head": {"count": dossier.history_count, "hash": dossier.history_hash},
        "history_verified": broken is None,
        "history_problem": str(broken) if broken else "",
        "pdf_variant": PDF_VARIANT,
        "members": [
            {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for path, data in sorted(members.items())
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as package:
        for path, data in sorted(members.items()):
            package.writestr(path, data)
        package.writestr("manifest.json", _json(manifest))
    return buffer.getvalue()
