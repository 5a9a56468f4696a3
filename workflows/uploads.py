"""Checking and storing an uploaded component file.

The content type is sniffed from the bytes (libmagic), never taken from the name or the
browser; the size is checked against the procedure's limit while streaming; the stored
name is random.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import magic
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

SNIFF_BYTES = 8192


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    size: int
    sha256: str
    storage_key: str


def check_upload(upload: UploadedFile, *, accepted: list[str], max_bytes: int) -> CheckedUpload:
    size = upload.size or 0
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")
    if size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s MB; the limit for this component is %(limit)s MB."),
            code="too_large",
            params={"size": round(size / 1_048_576, 1), "limit": max_bytes // 1_048_576},
        )
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    sniffed = magic.from_buffer(head, mime=True)
    if sniffed not in accepted:
        raise ValidationError(
            _("This file's content is %(sniffed)s; accepted here: %(accepted)s."),
            code="content_type",
            params={"sniffed": sniffed, "accepted": ", ".join(accepted)},
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(sniffed, size, digest.hexdigest(), secrets.token_hex(16))
