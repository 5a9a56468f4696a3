"""The trust roots: the certificates (settings MOTCUA["DOCUMENTS"]["TRUST_ROOTS"], PEM or
DER files) that a signer's chain must end at. Read by signing (a certificate is checked at
upload and at each signature), revocation and verification."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from django.conf import settings

log = logging.getLogger(__name__)


def _load_roots(paths: tuple[str, ...]) -> list[asn1_x509.Certificate]:
    roots = []
    for path in paths:
        file = Path(path)
        if not file.is_file():
            log.warning("trust root %s is missing", path)
            continue
        data = file.read_bytes()
        if pem.detect(data):
            for _type, _headers, der in pem.unarmor(data, multiple=True):
                roots.append(asn1_x509.Certificate.load(der))
        else:
            roots.append(asn1_x509.Certificate.load(data))
    return roots


@lru_cache(maxsize=4)
def _cached_roots(paths: tuple[str, ...], stamp: tuple) -> list[asn1_x509.Certificate]:
    return _load_roots(paths)


def trust_roots() -> list[asn1_x509.Certificate]:
    paths = tuple(str(p) for p in settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"])
    # Reload when a root file changes (make_dev_pki --force, a rotated root).
    stamp = tuple(Path(p).stat().st_mtime if Path(p).is_file() else 0 for p in paths)
    return _cached_roots(paths, stamp)
