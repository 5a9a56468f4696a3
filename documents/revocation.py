"""Revocation: the development CA's revocation list, and checking a certificate against
its CA's list before it signs and when a signed paper is verified.

The development CA (documents/pki.py) records each revocation (``RevokedCertificate``,
``manage.py revoke_certificate`` or the signing certificates' admin action) and
publishes a CRL built from those rows at ``/pki/ca.crl`` (``crl_url()``), the URL that
make_dev_pki writes into the certificates it issues (their CRL distribution point).

Checking uses pyhanko-certvalidator's revocation support in "hard-fail" mode:

- a certificate of the development CA is checked against that CA's list as motcua
  publishes it, built here rather than fetched from motcua's own URL (a server asking
  itself over HTTP inside a request can wait on itself with a single worker). This also
  covers certificates the CA issued before it published a list, which name no
  distribution point: revoking one of them works the same;
- any other CA's certificate is checked against the lists its distribution points name,
  fetched over HTTP by certvalidator's fetcher (``CRL_TIMEOUT`` seconds each). A list
  that cannot be fetched leaves the status unknown, never "good";
- a certificate of another CA that names no distribution point cannot be checked: its
  status is "none", shown as such; nor one that has expired (CAs drop expired
  certificates from their lists): "expired". A development CA's certificate is checked
  after it expires too, as of its last valid second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import pki
from .models import RevocationReason, RevokedCertificate
from .signing import options, outside_event_loop
from .trust import trust_roots

GOOD = "good"
REVOKED = "revoked"
UNKNOWN = "unknown"
NONE = "none"
EXPIRED = "expired"


class RevocationError(Exception):
    """A revocation could not be recorded; the message is fit to show."""


@dataclass(frozen=True)
class RevocationStatus:
    state: str
    revoked_at: dt.datetime | None = None
    reason: str = ""
    detail: str = ""

    @property
    def revoked(self) -> bool:
        return self.state == REVOKED

    @property
    def unknown(self) -> bool:
        return self.state == UNKNOWN


def crl_url() -> str:
    """Where the development CA's list is published: MOTCUA_CRL_URL, else the site's."""
    configured = options().get("CRL_URL", "")
    if configured:
        return configured
    return f"{settings.MOTCUA['SITE_URL'].rstrip('/')}{reverse('documents:crl')}"


# --- The development CA and its list ------------------------------------------------------------


def dev_ca_directory() -> Path | None:
    """make_dev_pki's directory: beside the first trust root (ca.pem and ca-key.pem)."""
    roots = options()["TRUST_ROOTS"]
    return Path(roots[0]).parent if roots else None


def dev_ca() -> pki.Issued | None:
    """The development CA, when this installation holds its key; None otherwise (a
    deployment trusting a licensed CA only)."""
    directory = dev_ca_directory()
    if directory is None:
        return None
    key_file = directory / "ca-key.pem"
    cert_file = directory / "ca.pem"
    if not (key_file.is_file() and cert_file.is_file()):
        return None
    stamp = (key_file.stat().st_mtime, cert_file.stat().st_mtime)
    return _load_ca(str(directory), stamp, options()["SEAL_PASSWORD"])


@lru_cache(maxsize=4)
def _load_ca(directory: str, stamp: tuple, password: str) -> pki.Issued | None:
    try:
        return pki.load_ca(directory, password.encode())
    except (ValueError, TypeError):  # another password: not ours to sign lists with
        return None


def issuer_name(certificate: x509.Certificate | asn1_x509.Certificate) -> str:
    """The issuer as SignerCredential.issuer and RevokedCertificate.issuer hold it."""
    if isinstance(certificate, asn1_x509.Certificate):
        certificate = x509.load_der_x509_certificate(certificate.dump())
    return certificate.issuer.rfc4514_string()[:300]


_crl_lock = threading.Lock()
_crl_cache: dict[tuple, tuple[bytes, dt.datetime]] = {}


def dev_crl() -> bytes | None:
    """The development CA's current list (DER), signed again when a revocation is added
    and before half its validity has run out."""
    ca = dev_ca()
    if ca is None:
        return None
    issuer = ca.certificate.subject.rfc4514_string()[:300]
    rows = list(
        RevokedCertificate.objects.filter(issuer=issuer)
        .order_by("pk")
        .values_list("pk", "serial", "revoked_at", "reason")
    )
    key = (ca.certificate.fingerprint(hashes.SHA256()), tuple(row[0] for row in rows))
    now = timezone.now()
    with _crl_lock:
        cached = _crl_cache.get(key)
        # (A list "made" later than now, by a clock set back since, is made again.)
        if cached is not None and dt.timedelta(0) <= now - cached[1] < pki.CRL_VALIDITY / 2:
            return cached[0]
        # A second of margin: a relying party's clock a little behind still accepts it.
        this_update = now - dt.timedelta(seconds=1)
        data = pki.make_crl(
            ca,
            [(int(serial, 16), revoked_at, reason) for _pk, serial, revoked_at, reason in rows],
            number=int(now.timestamp() * 1000),
            this_update=this_update,
        )
        _crl_cache.clear()
        _crl_cache[key] = (data, now)
        return data


def certificate_revoke(
    *,
    certificate: x509.Certificate | None = None,
    issuer: str = "",
    serial: str = "",
    subject: str = "",
    reason: str = RevocationReason.UNSPECIFIED,
    by=None,
    note: str = "",
) -> RevokedCertificate:
    """Record that the development CA revokes a certificate it issued (given as the
    certificate, or as its issuer and hexadecimal serial number). Idempotent: revoking
    again returns the first record."""
    ca = dev_ca()
    if ca is None:
        raise RevocationError(
            _("This installation has no development CA: ask the certificate's CA to revoke it.")
        )
    if certificate is not None:
        issuer = certificate.issuer.rfc4514_string()[:300]
        serial = format(certificate.serial_number, "x")
        subject = subject or certificate.subject.rfc4514_string()[:300]
    serial = serial.strip().lower().removeprefix("0x").replace(":", "")
    try:
        int(serial, 16)
    except ValueError as exc:
        raise RevocationError(_("A serial number is hexadecimal, e.g. 3f2a9c.")) from exc
    ca_name = ca.certificate.subject.rfc4514_string()[:300]
    issuer = issuer or ca_name
    if issuer != ca_name:
        raise RevocationError(
            _("This certificate was issued by another CA (%(issuer)s): ask that CA to revoke it.")
            % {"issuer": issuer}
        )
    if reason not in RevocationReason.values:
        raise RevocationError(_("Unknown revocation reason: %(reason)s.") % {"reason": reason})
    with transaction.atomic():
        record, _created = RevokedCertificate.objects.get_or_create(
            issuer=issuer,
            serial=format(int(serial, 16), "x"),
            defaults={
                "subject": subject[:300],
                "reason": reason,
                "revoked_at": timezone.now().replace(microsecond=0),
                "revoked_by": by,
                "note": note[:300],
            },
        )
    return record


def recorded_revocation(certificate: x509.Certificate | asn1_x509.Certificate):
    """The development CA's record revoking ``certificate``, or None: a database read
    (no network, no list signed), cheap enough to repeat under the signing locks."""
    if isinstance(certificate, asn1_x509.Certificate):
        certificate = x509.load_der_x509_certificate(certificate.dump())
    return RevokedCertificate.objects.filter(
        issuer=issuer_name(certificate), serial=format(certificate.serial_number, "x")
    ).first()


# --- Checking -------------------------------------------------------------------------------------


def _fetcher():
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    return RequestsFetcherBackend(per_request_timeout=options().get("CRL_TIMEOUT", 5))


def revocation_status(
    certificate: asn1_x509.Certificate, intermediates=(), *, roots=None
) -> RevocationStatus:
    """Whether ``certificate`` is revoked now, by its CA's list (see the module's text)."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import (
        InsufficientRevinfoError,
        PathBuildingError,
        PathValidationError,
        RevokedError,
    )

    roots = trust_roots() if roots is None else roots
    ca = dev_ca()
    ours = (
        ca is not None and issuer_name(certificate) == ca.certificate.subject.rfc4514_string()[:300]
    )
    expired = certificate.not_valid_after < timezone.now()
    if expired and not ours:
        # CAs drop expired certificates from their lists: nothing to ask any more.
        return RevocationStatus(EXPIRED)
    if ours:
        # The development CA keeps its revocations: an expired certificate is judged as
        # of its last valid second, against the list as it is now.
        # The list and the moment it is judged at come from the same clock (the
        # validator would read its own, in another thread: a list made under a clock
        # moved for the demo's past dossiers would then look stale).
        crl = dev_crl()
        moment = (
            certificate.not_valid_after - dt.timedelta(seconds=1) if expired else timezone.now()
        )
        context = ValidationContext(
            trust_roots=roots,
            crls=[crl],
            allow_fetching=False,
            # "require": the list is consulted whether or not the certificate names it
            # ("hard-fail" looks at lists only for certificates that name one).
            revocation_mode="require",
            moment=moment,
            retroactive_revinfo=expired,
        )
    elif certificate.crl_distribution_points:
        context = ValidationContext(
            trust_roots=roots,
            allow_fetching=True,
            fetcher_backend=_fetcher(),
            revocation_mode="hard-fail",
        )
    else:
        return RevocationStatus(NONE)
    validator = CertificateValidator(
        certificate, intermediate_certs=list(intermediates), validation_context=context
    )
    try:
        outside_event_loop(lambda: asyncio.run(validator.async_validate_usage(set())))
    except RevokedError as exc:
        reason = exc.reason.native if exc.reason is not None else ""
        return RevocationStatus(REVOKED, revoked_at=exc.revocation_dt, reason=reason or "")
    except InsufficientRevinfoError as exc:
        return RevocationStatus(UNKNOWN, detail=str(exc))
    except (PathBuildingError, PathValidationError) as exc:
        return RevocationStatus(UNKNOWN, detail=str(exc))
    except Exception as exc:  # a fetcher's own error: unknown, never a server error
        return RevocationStatus(UNKNOWN, detail=f"{type(exc).__name__}: {exc}")
    return RevocationStatus(GOOD)
