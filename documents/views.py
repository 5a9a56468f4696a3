"""Downloads for the people a document belongs to, and the public verification pages.

A document is streamed to its applicant, to officers who may read its dossier, and to
anyone holding its verification code (rate-limited per client address). Everyone else
gets a 404, as if it did not exist.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from access.models import AccessKind
from access.services import access_record
from workflows.models import Status
from workflows.presentation import erased_response, private_file_response
from workflows.selectors import dossier_for_officer

from .forms import CheckForm, CodeForm
from .models import Document, DocumentStatus, Kind, normalize_code
from .services import issued
from .verification import signing_record, verify_pdf


def _rate() -> str:
    return settings.MOTCUA["DOCUMENTS"]["VERIFY_RATE"]


def _limited(request, group: str) -> bool:
    return is_ratelimited(request, group=group, key="ip", rate=_rate(), increment=True)


def pdf_response(document: Document):
    return private_file_response(
        document.file, content_type="application/pdf", filename=document.filename
    )


def visible_to(user, document: Document) -> bool:
    """The applicant sees what was issued to them; officers in scope see everything."""
    if not user.is_authenticated:
        return False
    dossier = document.dossier
    if dossier.applicant_user_id == user.pk:
        # A result is the applicant's once issued; before, it is a draft of the decision.
        return document.kind != Kind.RESULT or (
            document.status == DocumentStatus.SIGNED and dossier.status == Status.ISSUED
        )
    return dossier_for_officer(user=user, pk=dossier.pk) is not None


@never_cache
def download(request, pk):
    document = Document.objects.select_related("dossier").filter(pk=pk).first()
    if document is None or not visible_to(request.user, document):
        raise Http404
    if document.erased_at is not None:
        return erased_response(request, erased_at=document.erased_at)
    if not document.ready:
        raise Http404
    response = pdf_response(document)
    access_record(
        dossier=document.dossier,
        by=request.user,
        kind=AccessKind.DOCUMENT,
        obj=document,
        request=request,
    )
    return response


def public_documents():
    """What the public pages know of: the papers issued to someone."""
    return issued().select_related("dossier__handling_agency")


def _issued(code: str) -> Document | None:
    return public_documents().filter(verification_code=normalize_code(code)).first()


@csrf_protect
@require_http_methods(["GET", "POST"])
def verify(request):
    """Enter a verification code, or upload a PDF to check its signatures."""
    code_form = CodeForm(request.POST if "code" in request.POST else None)
    check_form = CheckForm()
    status, limited = 200, False
    if code_form.is_bound:
        limited = _limited(request, "documents.verify")
        if not limited and code_form.is_valid():
            return redirect("documents:verify_code", code=code_form.cleaned_data["code"])
        status = 429 if limited else 400
    response = render(
        request,
        "documents/verify.html",
        {"code_form": code_form, "check_form": check_form, "limited": limited},
        status=status,
    )
    add_never_cache_headers(response)
    return response


def verify_code(request, code):
    """What the QR code opens: the document's public facts, and its download."""
    limited = _limited(request, "documents.verify")
    document = None if limited else _issued(code)
    if document is None and not limited:
        response = render(
            request,
            "documents/verify.html",
            {"code_form": CodeForm(), "check_form": CheckForm(), "unknown_code": code},
            status=404,
        )
    else:
        response = render(
            request,
            "documents/verify_code.html",
            {"document": document, "limited": limited},
            status=429 if limited else 200,
        )
        if document is not None:
            _record_by_code(request, document, AccessKind.CODE_OPEN)
    add_never_cache_headers(response)
    return response


def _record_by_code(request, document: Document, kind: str) -> None:
    # Whoever holds the paper's code: recorded with no user, so its owner sees "someone
    # holding the code checked it".
    access_record(dossier=document.dossier, by=None, kind=kind, obj=document, request=request)


@never_cache
def verify_download(request, code):
    if _limited(request, "documents.verify"):
        return render(
            request, "documents/verify_code.html", {"document": None, "limited": True}, status=429
        )
    document = _issued(code)
    if document is None:
        raise Http404
    if document.erased_at is not None:
        return erased_response(request, erased_at=document.erased_at)
    response = pdf_response(document)
    _record_by_code(request, document, AccessKind.CODE_DOWNLOAD)
    return response


@csrf_protect
@require_http_methods(["POST"])
def verify_check(request):
    """Check an uploaded PDF's signatures; the file is read in memory and not kept."""
    check_form = CheckForm(request.POST, request.FILES)
    limited = _limited(request, "documents.check")
    report, known = None, None
    if not limited and check_form.is_valid():
        data = check_form.cleaned_data["file"].read()
        known = public_documents().filter(sha256=hashlib.sha256(data).hexdigest()).first()
        # A paper motcua issued is checked as of when motcua signed it (its own record),
        # so it stays valid after the certificate expires; any other file as of now.
        # Its record also proves when each signature was made, so a certificate revoked
        # after that leaves the signature valid (documents/verification.py).
        report = verify_pdf(
            data,
            moment=known.signed_at if known else None,
            recorded=signing_record(known) if known else None,
        )
        if known is not None:
            _record_by_code(request, known, AccessKind.COPY_CHECK)
    status = 429 if limited else (400 if check_form.errors else 200)
    response = render(
        request,
        "documents/verify_report.html" if report else "documents/verify.html",
        {
            "report": report,
            "known": known,
            "check_form": check_form,
            "code_form": CodeForm(),
            "limited": limited,
        },
        status=status,
    )
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "HEAD"])
def crl(request):
    """The development CA's certificate revocation list (RFC 5280, DER), at the URL its
    certificates name as their CRL distribution point. Public, as CRLs are; 404 where
    this installation holds no development CA."""
    from .pki import CRL_VALIDITY
    from .revocation import dev_crl

    data = dev_crl()
    if data is None:
        raise Http404
    response = HttpResponse(data, content_type="application/pkix-crl")
    response["Content-Disposition"] = 'inline; filename="ca.crl"'
    # Relying parties may keep it a while; a revocation is published at the next fetch.
    response["Cache-Control"] = f"public, max-age={min(300, int(CRL_VALIDITY.total_seconds()))}"
    return response
