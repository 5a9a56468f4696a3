"""Documents: asking for a paper, rendering it, signing the result, retrying a failure.

``document_request`` runs inside the transaction that handles the event causing the paper
and creates its row (or finds it: one per dossier, kind and event). Rendering runs after
commit in a Celery task (in-process in the embedded default) and is idempotent: a document
already stored is returned as it is. ``result_sign`` is called by the signing officer's
request, because the password that opens their certificate must not travel through a
queue.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from procedures.auth import has_agency_perm
from procedures.selectors import officer_title
from workflows.exceptions import ActionNotAllowed
from workflows.models import Dossier, Status, acting_agency_or, acting_for
from workflows.services.dossiers import dossier_note

from . import content
from .models import Document, DocumentStatus, Kind, SignerCredential
from .pdf import Box, qr_data_uri, render_html, render_template
from .revocation import recorded_revocation, revocation_status
from .signing import (
    SigningError,
    backend,
    check_trusted,
    describe,
    key_is_encrypted,
    options,
    seal_backend,
    sign_pdf,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def verify_url(document: Document) -> str:
    return f"{settings.MOTCUA['SITE_URL'].rstrip('/')}/verify/{document.verification_code}/"


# --- Asking for a paper ------------------------------------------------------------------------


def document_request(*, dossier: Dossier, kind: str, source_key: str, event=None) -> Document:
    """The paper ``kind`` for ``dossier``, caused by ``source_key``: created once, with what
    it will say frozen now, and rendered after commit."""
    existing = Document.objects.filter(dossier=dossier, kind=kind, source_key=source_key).first()
    if existing is not None:
        return existing
    with translation.override("vi"):
        frozen = content.BUILDERS[kind](dossier, event.payload if event else {})
    try:
        # A savepoint: the signer's request and the event handler may ask at once.
        with transaction.atomic():
            document = Document.objects.create(
                dossier=dossier,
                kind=kind,
                source_key=source_key,
                source_event=event,
                template=content.template_for(dossier, kind),
                context=frozen,
            )
    except IntegrityError:
        return Document.objects.get(dossier=dossier, kind=kind, source_key=source_key)
    if not _renders_deferred.get():
        transaction.on_commit(lambda: _render_later(document.pk), robust=True)
    return document


_renders_deferred = contextvars.ContextVar("documents_renders_deferred", default=False)


@contextmanager
def renders_deferred():
    """Papers asked for inside are left pending instead of being rendered after commit:
    for a bulk load (the demo), whose caller renders them in another process
    (``manage.py render_documents``); the document sweep renders any left over after its
    grace period. A result being signed is still rendered at once (``_result_to_sign``)."""
    token = _renders_deferred.set(True)
    try:
        yield
    finally:
        _renders_deferred.reset(token)


def _render_later(document_id: int) -> None:
    from config.handoff import handoff

    from .tasks import render_document

    handoff(render_document, document_id)


# --- Rendering ---------------------------------------------------------------------------------


def _store(document: Document, data: bytes) -> None:
    old = document.file.name if document.file else ""
    document.file.save("document.pdf", ContentFile(data), save=False)
    document.sha256 = hashlib.sha256(data).hexdigest()
    document.size = len(data)
    if old:
        # The unsigned rendering is superseded by the signed one; keep no orphan copies.
        # Robust: a store that fails now leaves an orphan (logged), not an error after commit.
        transaction.on_commit(lambda: document.file.storage.delete(old), robust=True)


def _page_context(document: Document) -> dict:
    return {
        **document.context,
        "kind": document.kind,
        "kind_name": Kind(document.kind).label,
        "verification_code": document.display_code,
        "verify_url": verify_url(document),
        "qr": qr_data_uri(verify_url(document)),
    }


@lru_cache(maxsize=128)
def _seal_stamp(agency_name: str) -> bytes:
    """The seal's picture depends on the agency only: drawn once per worker and agency."""
    html = render_to_string("documents/pdf/stamp_seal.html", {"agency": agency_name})
    return render_html(html).pdf


def _official_stamp(name: str, title: str, signed_at) -> bytes:
    html = render_to_string(
        "documents/pdf/stamp_official.html",
        {"name": name, "title": title, "at": timezone.localtime(signed_at)},
    )
    return render_html(html).pdf


def _seal_signer(agency):
    """The agency's seal, once its certificate is shown not to be revoked (a revoked seal
    seals nothing, as a revoked official's certificate never signs). May fetch a CRL over
    the network: called before any row is locked."""
    signer = seal_backend().signer(agency=agency)
    refuse_revoked(signer.signing_cert, list(signer.cert_registry), seal=True)
    return signer


def _apply_seal(document: Document, pdf: bytes, box: Box | None, signer) -> tuple[bytes, dict]:
    """Seal ``pdf`` with ``signer``, checked by ``_seal_signer`` before the locks."""
    refuse_revoked_since_checked(signer.signing_cert, seal=True)
    now = timezone.now()
    info = describe(signer.signing_cert)
    signed = sign_pdf(
        pdf,
        signer=signer,
        field_name="Seal",
        box=box,
        stamp_pdf=_seal_stamp(info.name) if box else None,
        reason="Đóng dấu của cơ quan",
        location=document.context["agency"]["province"],
    )
    return signed, {
        "role": "seal",
        "name": info.name,
        "subject": info.subject,
        "issuer": info.issuer,
        "at": now.isoformat(),
    }


def document_render(*, document_id: int) -> Document:
    """Render one pending document and store it; the standard forms are sealed with the
    agency's seal when one is configured. Idempotent: a stored document is returned."""
    try:
        # The seal's revocation is checked first, without a lock: its CRL may come over
        # the network, and a slow list must not hold the document's row.
        document = Document.objects.select_related("dossier__handling_agency").get(pk=document_id)
        if document.ready or document.erased_at is not None:
            return document
        agency = document.dossier.handling_agency
        sealer = None
        if document.kind != Kind.RESULT and seal_backend().available(agency):
            sealer = _seal_signer(agency)
        with transaction.atomic():
            # The document's row alone (of "self"): a join locked FOR UPDATE would lock the
            # dossier and its agency through the whole rendering, and a page recording an
            # access (its INSERT checks the agency, then the dossier, FOR KEY SHARE) would
            # deadlock with it. The page's text is the document's frozen context.
            document = (
                Document.objects.select_for_update(of=("self",))
                .select_related("dossier__handling_agency")
                .get(pk=document_id)
            )
            if document.ready or document.erased_at is not None:
                return document
            rendered = render_template(document.template, _page_context(document))
            pdf, signatures = rendered.pdf, []
            if sealer is not None:
                pdf, seal = _apply_seal(document, pdf, rendered.boxes.get("sig-seal"), sealer)
                signatures.append(seal)
            _store(document, pdf)
            now = timezone.now()
            document.layout = {
                name: [box.page, box.x1, box.y1, box.x2, box.y2]
                for name, box in rendered.boxes.items()
            }
            document.signatures = signatures
            document.status = DocumentStatus.SIGNED if signatures else DocumentStatus.RENDERED
            document.rendered_at = now
            document.signed_at = now if signatures else None
            document.attempts += 1
            document.last_error = ""
            document.failed_at = None
            document.save()
            return document
    except Document.DoesNotExist:
        raise
    except Exception as exc:
        _record_failure(document_id, exc)
        raise


def _record_failure(document_id: int, exc: Exception) -> None:
    """In its own transaction: the failed attempt's work is rolled back, its record not."""
    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        document.attempts += 1
        document.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if document.attempts >= MAX_ATTEMPTS:
            document.status = DocumentStatus.FAILED
            document.failed_at = timezone.now()
        document.save(update_fields=["attempts", "last_error", "status", "failed_at"])
    log.warning("document %s failed on attempt %s", document_id, document.attempts)


def document_render_safely(*, document_id: int) -> bool:
    """For sweeps: True when the document is stored, False when this attempt failed."""
    try:
        document_render(document_id=document_id)
    except Exception:
        log.exception("rendering document %s failed", document_id)
        return False
    return True


def document_retry(*, document_id: int) -> bool:
    """An administrator's retry of a failed document: a fresh round of attempts."""
    Document.objects.filter(pk=document_id, status=DocumentStatus.FAILED).update(
        status=DocumentStatus.PENDING, attempts=0, failed_at=None
    )
    return document_render_safely(document_id=document_id)


def documents_pending(*, older_than_seconds: int = 120, limit: int = 100) -> list[int]:
    """Documents whose after-commit rendering never happened or failed before the limit."""
    cutoff = timezone.now() - timezone.timedelta(seconds=older_than_seconds)
    return list(
        Document.objects.filter(status=DocumentStatus.PENDING, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def documents_sweep() -> int:
    return sum(document_render_safely(document_id=pk) for pk in documents_pending())


# --- Signing the result ------------------------------------------------------------------------


def result_key(dossier: Dossier) -> str:
    """One result per approval: a dossier sent back and approved again gets a new one."""
    seq = (
        dossier.history.filter(action="approve").order_by("-seq").values_list("seq", flat=True)
    ).first()
    return f"approval:{seq}"


def current_result(dossier: Dossier) -> Document | None:
    return dossier.documents.filter(kind=Kind.RESULT).order_by("-created_at", "-pk").first()


def _result_to_sign(dossier: Dossier) -> Document:
    """The result of the current approval, rendered now if the background task has not
    got to it yet: a signer is never kept waiting on the queue."""
    document = document_request(dossier=dossier, kind=Kind.RESULT, source_key=result_key(dossier))
    if not document.ready:
        try:
            document = document_render(document_id=document.pk)
        except OSError as exc:
            raise SigningError(str(STORAGE_DOWN)) from exc
        except Exception as exc:
            raise SigningError(
                _("The result document could not be prepared: %(error)s") % {"error": exc}
            ) from exc
    return document


def active_credential(user) -> SignerCredential | None:
    return SignerCredential.objects.filter(user=user, active=True).first()


STORAGE_DOWN = gettext_lazy(
    "The document store is not answering just now: nothing was signed. Please try again in a "
    "few minutes."
)


def result_sign(
    *, dossier: Dossier, by, password: str = "", personal: bool = True, seal: bool = True
) -> Document:
    """Sign the approved result: the official's own signature, the organisation's seal, or
    both (domain.md: both together give it the value of a paper original). A file store
    that fails on the way is a SigningError: the transaction is rolled back whole."""
    try:
        return _result_sign(dossier=dossier, by=by, password=password, personal=personal, seal=seal)
    except OSError as exc:  # StorageUnavailable reading or writing the PDF
        log.warning("signing the result of dossier %s: storage failed: %s", dossier.pk, exc)
        raise SigningError(str(STORAGE_DOWN)) from exc


@dataclass
class _Prepared:
    """What signs, opened and checked before any row is locked."""

    credential: SignerCredential | None = None
    signer: object = None
    sealer: object = None


def _already_signed(dossier: Dossier) -> set[str]:
    """The roles that already signed the current approval's result (read without a lock;
    signatures are only ever added, so the locked read sees at least these)."""
    document = dossier.documents.filter(kind=Kind.RESULT, source_key=result_key(dossier)).first()
    return {s["role"] for s in document.signatures} if document is not None else set()


def _prepare(*, dossier: Dossier, by, password: str, personal: bool, seal: bool) -> _Prepared:
    """Open the official's certificate and the agency's seal and check them, revocation
    included: a CRL may be fetched over HTTP (``CRL_TIMEOUT`` seconds), so this runs
    before the signing transaction takes its locks."""
    prepared = _Prepared()
    if personal:
        credential = active_credential(by)
        if credential is None:
            raise SigningError(
                _("You have no signing certificate yet. Upload one on your certificate page.")
            )
        signer = backend(options()["SIGNER_BACKEND"]).signer(
            pkcs12=bytes(credential.pkcs12), password=password
        )
        _refuse_out_of_date(signer, timezone.now())
        check_trusted(signer.signing_cert, list(signer.cert_registry))
        refuse_revoked(signer.signing_cert, list(signer.cert_registry))
        prepared.credential, prepared.signer = credential, signer
    if seal:
        prepared.sealer = _seal_signer(dossier.handling_agency)
    return prepared


def _refuse_out_of_date(signer, now) -> None:
    info = describe(signer.signing_cert)
    if info.not_after < now:
        raise SigningError(_("Your signing certificate has expired."))
    if info.not_before > now:
        raise SigningError(_("Your signing certificate is not valid yet."))


CHANGED_WHILE_SIGNING = gettext_lazy(
    "Something changed while this was being signed (another certificate, or the dossier's "
    "agency): nothing was signed. Please sign again."
)


def _result_sign(*, dossier: Dossier, by, password: str, personal: bool, seal: bool) -> Document:
    # Fetch and validate first, then lock and write: the revocation lists are read before
    # any row is locked (a slow CA must not hold the dossier). The check stays
    # authoritative: the certificate checked is the one that signs (the same opened key;
    # the credential is compared again under the lock), a revocation recorded by the
    # development CA in between is seen under the lock (a local read, no network), and
    # what a remote CA revokes in the moment between is caught by the verification page,
    # which compares the revocation date with the signing time recorded here.
    prepared = _prepare_signing(dossier=dossier, by=by, password=password, personal=personal, seal=seal)
    with transaction.atomic():
        return _sign_locked(dossier, by=by, prepared=prepared, personal=personal, seal=seal)


def _prepare_signing(*, dossier: Dossier, by, password: str, personal: bool, seal: bool):
    """The checks before any lock: the officer may sign here, and the certificate and the
    seal are opened and checked (revocation lists fetched)."""
    if not has_agency_perm(by, "workflows.sign_dossier", acting_agency_or(dossier)):
        raise PermissionDenied(_("You are not allowed to sign results of this agency."))
    if not (personal or seal):
        raise SigningError(_("Choose your own signature, the agency's seal, or both."))
    done_before = _already_signed(dossier)
    return _prepare(
        dossier=dossier,
        by=by,
        password=password,
        personal=personal and "official" not in done_before,
        seal=seal and "seal" not in done_before,
    )


def _sign_locked(dossier: Dossier, *, by, prepared: _Prepared, personal: bool, seal: bool):
    """The signature added to the result, in the caller's transaction, the dossier locked."""
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if dossier.status != Status.APPROVED:
        raise ActionNotAllowed(_("Only an approved result can be signed."))
    document = Document.objects.select_for_update().get(pk=_result_to_sign(dossier).pk)
    signatures = list(document.signatures)
    done = {s["role"] for s in signatures}
    # Idempotent: a retry (a double click, or the task's completion failing after the
    # signature) adds nothing that is already there.
    personal = personal and "official" not in done
    seal = seal and "seal" not in done
    if not (personal or seal):
        return document
    if (personal and prepared.signer is None) or (seal and prepared.sealer is None):
        raise SigningError(str(CHANGED_WHILE_SIGNING))
    if personal:
        current = active_credential(by)
        if current is None or current.pk != prepared.credential.pk:
            raise SigningError(str(CHANGED_WHILE_SIGNING))
    if seal and (
        seal_backend().signer(agency=dossier.handling_agency).signing_cert.sha256
        != prepared.sealer.signing_cert.sha256
    ):
        raise SigningError(str(CHANGED_WHILE_SIGNING))
    if not signatures:
        # The first signature: the paper names the officer who signs it now.
        _name_the_signer(document, by=by, agency=dossier.handling_agency)
    with document.file.open("rb") as handle:
        pdf = handle.read()
    rendered_boxes = _boxes(document)
    if personal:
        signer = prepared.signer
        now = timezone.now()
        _refuse_out_of_date(signer, now)
        refuse_revoked_since_checked(signer.signing_cert)
        info = describe(signer.signing_cert)
        title = document.context.get("signer_title", "")
        pdf = sign_pdf(
            pdf,
            signer=signer,
            field_name=f"Official{len(signatures) + 1}",
            box=rendered_boxes.get("sig-official"),
            stamp_pdf=_official_stamp(info.name, title, now),
            reason="Ký duyệt kết quả giải quyết thủ tục hành chính",
            location=document.context["agency"]["province"],
        )
        signatures.append(
            {
                "role": "official",
                "name": info.name,
                "subject": info.subject,
                "issuer": info.issuer,
                "at": now.isoformat(),
                "user": by.pk,
            }
        )
    if seal:
        pdf, sealed = _apply_seal(
            document, pdf, rendered_boxes.get("sig-seal"), prepared.sealer
        )
        signatures.append(sealed)
    _store(document, pdf)
    document.signatures = signatures
    document.status = DocumentStatus.SIGNED
    document.signed_at = timezone.now()
    document.save()
    dossier_note(
        dossier=dossier,
        by=by,
        action="result_signed",
        data={
            "document": document.pk,
            "sha256": document.sha256,
            "signatures": [s["role"] for s in signatures],
        },
    )
    return document


def task_sign(
    *, task, by, password: str = "", personal: bool = True, seal: bool = True, comment: str = ""
):
    """Sign the approved result and complete the signing task: one action, one
    transaction (issue #13). The certificate and the seal are opened and checked first,
    before any lock (a CA's revocation list may be fetched); then, under the flow's lock,
    the signature is added and the stage completed, so the flow issues the result. A
    failure on either side leaves neither: no signed paper with the task still open."""
    from workflows.services import work

    if not (task.owner_id == by.pk and task.status == "ASSIGNED"):
        raise ActionNotAllowed(_("Claim the task before signing."))
    try:
        with acting_for(task.agency):
            prepared = _prepare_signing(
                dossier=task.dossier, by=by, password=password, personal=personal, seal=seal
            )
        return work.task_complete(
            task=task,
            by=by,
            action="sign",
            form={"comment": comment},
            before=lambda dossier: _sign_locked(
                dossier, by=by, prepared=prepared, personal=personal, seal=seal
            ),
        )
    except OSError as exc:  # StorageUnavailable reading or writing the PDF
        log.warning("signing the result of dossier %s: storage failed: %s", task.dossier_id, exc)
        raise SigningError(str(STORAGE_DOWN)) from exc


def _revoked_message(when, *, seal: bool) -> str:
    date = when.strftime("%d/%m/%Y") if when else "…"
    if seal:
        return _(
            "The agency's seal certificate was revoked on %(date)s: nothing was sealed. An "
            "administrator must install a new seal certificate from the certification "
            "authority."
        ) % {"date": date}
    return _(
        "Your signing certificate was revoked on %(date)s: it can no longer sign. "
        "Ask your certification authority for a new one and upload it."
    ) % {"date": date}


def refuse_revoked(certificate, intermediates=(), *, seal: bool = False) -> None:
    """SigningError unless the certificate's CA says it is not revoked: a revoked
    certificate never signs (nor seals), nor one whose status cannot be checked just now.
    May fetch a CRL: never call it while holding row locks."""
    status = revocation_status(certificate, intermediates)
    if status.revoked:
        when = timezone.localtime(status.revoked_at) if status.revoked_at else None
        raise SigningError(_revoked_message(when, seal=seal))
    if status.unknown:
        log.warning("revocation could not be checked: %s", status.detail)
        if seal:
            raise SigningError(
                _(
                    "Whether the agency's seal certificate has been revoked could not be "
                    "checked just now (its authority's revocation list did not answer): "
                    "nothing was sealed. Please try again in a few minutes."
                )
            )
        raise SigningError(
            _(
                "Whether your signing certificate has been revoked could not be checked just "
                "now (its authority's revocation list did not answer): nothing was signed. "
                "Please try again in a few minutes."
            )
        )


def refuse_revoked_since_checked(certificate, *, seal: bool = False) -> None:
    """Under the signing locks, after ``refuse_revoked``: a revocation the development
    CA recorded in the meantime (a database read; no network, so safe under locks)."""
    record = recorded_revocation(certificate)
    if record is not None:
        raise SigningError(_revoked_message(timezone.localtime(record.revoked_at), seal=seal))


def _name_the_signer(document: Document, *, by, agency) -> None:
    """Print the signing officer's name and title under the signature (rendered again when
    the paper, drawn at approval before anyone signed, says otherwise). Only before the
    first signature: a signed paper is never drawn again."""
    name = by.get_full_name() or by.get_username()
    title = officer_title(user=by, agency=agency)
    context = document.context
    if context.get("signer_name") == name and context.get("signer_title") == title:
        return
    document.context = {**context, "signer_name": name, "signer_title": title}
    rendered = render_template(document.template, _page_context(document))
    _store(document, rendered.pdf)
    document.layout = {
        key: [box.page, box.x1, box.y1, box.x2, box.y2] for key, box in rendered.boxes.items()
    }
    document.rendered_at = timezone.now()
    document.save()


def _boxes(document: Document) -> dict[str, Box]:
    """Where the template put the signature places, as measured when it was rendered."""
    return {name: Box(int(v[0]), *map(float, v[1:])) for name, v in document.layout.items()}


# --- Reading -----------------------------------------------------------------------------------


def dossier_documents(dossier: Dossier) -> list[Document]:
    """Every paper of the dossier, for officers (an unsigned result included)."""
    return list(dossier.documents.order_by("created_at", "pk"))


def seal_available(dossier: Dossier) -> bool:
    return seal_backend().available(dossier.handling_agency)


def issued(documents=None):
    """Papers issued to someone: stored, and for a result, signed and its dossier issued
    (a result signed while the signing step has yet to complete is still a draft). The one
    rule for the applicant's list and the public verification pages."""
    documents = Document.objects.all() if documents is None else documents
    return (
        documents.filter(status__in=(DocumentStatus.RENDERED, DocumentStatus.SIGNED))
        .exclude(Q(kind=Kind.RESULT) & ~Q(status=DocumentStatus.SIGNED))
        .exclude(Q(kind=Kind.RESULT) & ~Q(dossier__status=Status.ISSUED))
    )


def issued_documents(dossier: Dossier) -> list[Document]:
    return list(issued(dossier.documents.all()).order_by("created_at", "pk"))


# --- Officials' certificates -------------------------------------------------------------------


def credential_upload(*, user, data: bytes, password: str) -> SignerCredential:
    """Keep an official's PKCS#12 file as uploaded, once it is shown to open with the
    password and to hold a usable signing certificate; the password is not kept."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12
    from django.core.exceptions import ValidationError

    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(data, password.encode())
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            {"file": [_("This file could not be opened with this password: check both.")]}
        ) from exc
    if key is None or certificate is None:
        raise ValidationError({"file": [_("This file holds no certificate with its key.")]})
    if not key_is_encrypted(data):
        raise ValidationError(
            {"file": [_("This file is not protected by a password; ask your CA for one that is.")]}
        )
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1

    try:
        check_trusted(
            translate_pyca_cryptography_cert_to_asn1(certificate),
            [translate_pyca_cryptography_cert_to_asn1(c) for c in _chain],
        )
    except SigningError as exc:
        raise ValidationError({"file": [str(exc)]}) from exc
    status = revocation_status(
        translate_pyca_cryptography_cert_to_asn1(certificate),
        [translate_pyca_cryptography_cert_to_asn1(c) for c in _chain],
    )
    if status.revoked:
        raise ValidationError({"file": [_("This certificate has been revoked by its authority.")]})
    now = timezone.now()
    if certificate.not_valid_after_utc < now:
        raise ValidationError({"file": [_("This certificate has expired.")]})
    if certificate.not_valid_before_utc > now:
        raise ValidationError({"file": [_("This certificate is not valid yet.")]})
    with transaction.atomic():
        SignerCredential.objects.filter(user=user, active=True).update(active=False)
        return SignerCredential.objects.create(
            user=user,
            pkcs12=data,
            subject=certificate.subject.rfc4514_string()[:300],
            issuer=certificate.issuer.rfc4514_string()[:300],
            serial=format(certificate.serial_number, "x")[:80],
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
            fingerprint=certificate.fingerprint(hashes.SHA256()).hex(),
        )
