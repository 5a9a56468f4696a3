"""Checking a signed PDF with pyHanko's validator, against the trust roots in settings.

For each signature: is it intact (the signed bytes hash to what was signed), is the signer
trusted (the certificate chains to a configured root), was the document changed after it
(incremental updates other than further signatures), who signed and when, and whether
the certificate was valid at that moment, and whether it has been revoked since
(documents/revocation.py; a list that cannot be fetched leaves the paper unconfirmed).
The trust roots are read by documents/trust.py.

A revocation dated after the signature leaves the signature valid, as of when it was made,
when that moment is proven by something other than the signer's own claim: a trusted
timestamp, or motcua's own record of signing the very file (``signing_record``). This is
ETSI EN 319 102-1's rule (a signature whose proof of existence precedes the revocation is
valid; without one it is "revoked, no proof of existence"): the page then says the
certificate was revoked later, with the date. A signing time the signer merely claims (the
PDF's /M or signingTime attribute) proves nothing: a stolen key can claim any date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass, field

from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from .revocation import REVOKED, UNKNOWN, revocation_status
from .signing import outside_event_loop
from .trust import trust_roots

# The certificate was revoked, but after a proven signing time: the signature stands.
REVOKED_LATER = "revoked_later"

log = logging.getLogger(__name__)

# Further signatures and validation data may follow a signature; anything else is a change.
ALLOWED_LATER = ("NONE", "LTA_UPDATES", "FORM_FILLING")


@dataclass
class SignatureCheck:
    field: str
    signer: str
    issuer: str
    signed_at: dt.datetime | None
    intact: bool
    trusted: bool
    changed_after: bool
    valid_at_signing: bool
    timestamped: bool
    # Revocation now (documents/revocation.py): "good", "revoked", "unknown" (the CA's
    # list could not be had), "none" (the CA publishes none), "" (not checked: the
    # signature is broken or its signer untrusted).
    revocation: str = ""
    revoked_at: dt.datetime | None = None
    revocation_reason: str = ""
    # The signing time is proven by a trusted timestamp ("timestamp") or by motcua's own
    # record of signing this file ("record"); "" when only the signer claims it.
    timestamp_trusted: bool = False
    time_proof: str = ""

    @property
    def revoked_later(self) -> bool:
        return self.revocation == REVOKED_LATER

    @property
    def revoked(self) -> bool:
        return self.revocation == REVOKED

    @property
    def revocation_unknown(self) -> bool:
        return self.revocation == UNKNOWN

    @property
    def ok(self) -> bool:
        return (
            self.intact
            and self.trusted
            and not self.changed_after
            and self.valid_at_signing
            and self.revocation not in (REVOKED, UNKNOWN)
        )


@dataclass
class Report:
    sha256: str
    readable: bool = True
    signatures: list[SignatureCheck] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def ok(self) -> bool:
        return self.readable and self.signed and all(s.ok for s in self.signatures)

    @property
    def revoked(self) -> bool:
        return any(s.revoked for s in self.signatures)

    @property
    def revoked_later(self) -> bool:
        return any(s.revoked_later for s in self.signatures)

    @property
    def revocation_unknown(self) -> bool:
        """Nothing wrong but revocation, which could not be checked: not valid yet."""
        return (
            not self.ok
            and not self.revoked
            and any(s.revocation_unknown for s in self.signatures)
            and all(
                s.intact and s.trusted and not s.changed_after and s.valid_at_signing
                for s in self.signatures
            )
        )


def _check(embedded, context: ValidationContext) -> SignatureCheck:
    certificate = embedded.signer_cert
    try:
        status = validate_pdf_signature(embedded, context)
    except (SignatureValidationError, ValueError, PdfReadError) as exc:
        log.info("signature %s could not be validated: %s", embedded.field_name, exc)
        return SignatureCheck(
            field=embedded.field_name,
            signer=certificate.subject.human_friendly if certificate else "",
            issuer=certificate.issuer.human_friendly if certificate else "",
            signed_at=None,
            intact=False,
            trusted=False,
            changed_after=True,
            valid_at_signing=False,
            timestamped=False,
        )
    signed_at = status.signer_reported_dt
    stamp = status.timestamp_validity
    if stamp is not None:
        signed_at = stamp.timestamp
    level = status.modification_level.name if status.modification_level else "OTHER"
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    changed = not whole and (level not in ALLOWED_LATER or not status.docmdp_ok)
    valid_then = bool(
        signed_at and certificate.not_valid_before <= signed_at <= certificate.not_valid_after
    )
    return SignatureCheck(
        field=embedded.field_name,
        signer=certificate.subject.native.get("common_name", certificate.subject.human_friendly),
        issuer=certificate.issuer.native.get("common_name", certificate.issuer.human_friendly),
        signed_at=signed_at,
        intact=bool(status.intact and status.valid),
        trusted=bool(status.trusted),
        changed_after=changed,
        valid_at_signing=valid_then,
        timestamped=stamp is not None,
        timestamp_trusted=bool(
            stamp is not None and stamp.intact and stamp.valid and stamp.trusted
        ),
    )


def _check_revocation(check: SignatureCheck, embedded, recorded_at: dt.datetime | None) -> None:
    """Revocation as of now, whatever ``moment`` the rest is judged at. A revocation dated
    after a proven signing time (a trusted timestamp, else ``recorded_at``, motcua's own
    record) leaves the signature valid and says when the certificate was revoked."""
    status = revocation_status(embedded.signer_cert, embedded.other_embedded_certs)
    check.revocation = status.state
    check.revoked_at = status.revoked_at
    check.revocation_reason = status.reason
    if check.timestamp_trusted and check.signed_at is not None:
        check.time_proof, proven = "timestamp", check.signed_at
    elif recorded_at is not None:
        check.time_proof, proven = "record", recorded_at
    else:
        proven = None
    # Strictly before: a list dates revocations to the second, and a tie is not a proof.
    if status.revoked and status.revoked_at and proven and proven < status.revoked_at:
        check.revocation = REVOKED_LATER
    if status.unknown:
        log.info("revocation of %s could not be checked: %s", check.signer, status.detail)


def signing_record(document) -> dict[str, dt.datetime]:
    """When motcua signed each field of ``document`` (documents.services names them: the
    officials' ``Official1``, ``Official2``..., in order, and ``Seal``), from its own
    record; for a file whose bytes are exactly the stored document's."""
    record = {}
    for index, signature in enumerate(document.signatures or []):
        try:
            at = dt.datetime.fromisoformat(signature["at"])
        except (KeyError, TypeError, ValueError):
            continue
        name = "Seal" if signature.get("role") == "seal" else f"Official{index + 1}"
        record[name] = at
    return record


def verify_pdf(
    data: bytes,
    *,
    moment: dt.datetime | None = None,
    recorded: dict[str, dt.datetime] | None = None,
) -> Report:
    """Check every signature of ``data``; certificates are judged as of ``moment`` (now
    when not given). ``recorded``: motcua's own signing times by field name
    (``signing_record``), only for a file motcua issued with exactly these bytes."""
    recorded = recorded or {}
    report = Report(sha256=hashlib.sha256(data).hexdigest())
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception:  # anything unreadable is reported as such, never a server error
        log.info("an uploaded file could not be read as a PDF", exc_info=True)
        report.readable = False
        return report
    context = ValidationContext(trust_roots=trust_roots(), allow_fetching=False, moment=moment)
    for signature in embedded:
        try:
            check = outside_event_loop(lambda sig=signature: _check(sig, context))
            if check.intact and check.trusted:
                _check_revocation(check, signature, recorded.get(signature.field_name))
            report.signatures.append(check)
        except Exception:
            log.info("a signature could not be checked", exc_info=True)
            report.signatures.append(
                SignatureCheck(signature.field_name, "", "", None, False, False, True, False, False)
            )
    return report
