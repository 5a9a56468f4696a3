"""PAdES signatures with pyHanko, behind a small registry of signer backends.

A backend turns "who signs" into a pyHanko ``Signer``. Two ship with motcua:

- ``pkcs12``: an official's own certificate, the PKCS#12 file they uploaded, opened with
  the password they type at each signature (never stored);
- ``seal-directory``: the organisation's seal, one PKCS#12 file per agency in a directory
  the operator controls, opened with a password from the environment.

A hardware token (PKCS#11) or a remote signing service registers another backend with
``@register("name")`` and is chosen in settings (``MOTCUA["DOCUMENTS"]``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import math
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.attributes import SigningCertificateV2Provider
from pyhanko.stamp import StaticStampStyle

from .pdf import Box
from .trust import trust_roots

log = logging.getLogger(__name__)


class SigningError(Exception):
    """A signature could not be made; the message is fit to show the official."""


@dataclass(frozen=True)
class SignerInfo:
    name: str
    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime


def describe(certificate: asn1_x509.Certificate) -> SignerInfo:
    subject = certificate.subject.native
    return SignerInfo(
        name=subject.get("common_name", certificate.subject.human_friendly),
        subject=certificate.subject.human_friendly,
        issuer=certificate.issuer.human_friendly,
        serial=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before,
        not_after=certificate.not_valid_after,
    )


class SignerBackend:
    """Base class: ``signer(**kwargs)`` returns a pyHanko signer or raises SigningError."""

    name = ""

    def signer(self, **kwargs) -> signers.Signer:
        raise NotImplementedError


_registry: dict[str, type[SignerBackend]] = {}


def register(name: str):
    def add(cls: type[SignerBackend]) -> type[SignerBackend]:
        cls.name = name
        _registry[name] = cls
        return cls

    return add


def backend(name: str) -> SignerBackend:
    try:
        return _registry[name]()
    except KeyError as exc:
        raise SigningError(_("No signer backend is configured under this name.")) from exc


def options() -> dict:
    return settings.MOTCUA["DOCUMENTS"]


class KeyHoldingSigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its key again for every signature, and OpenSSL checks
    an RSA key's primes on each parse (60 to 190 ms by key size). This one keeps the key
    that was checked once, when the PKCS#12 file was opened.

    It also hands pyHanko the CMS pieces it builds (the signing-certificate attribute's
    value, the signed attributes, the SignerInfo, the signature algorithm) re-read from
    their own DER. asn1crypto re-encodes a structure built in Python every time it or one
    of its parents is encoded, and a parent's construction encodes its children again:
    one CMS container encoded the signing-certificate value about 160 times, more than
    half of a signature's time. A structure read from DER keeps its bytes, the same."""

    def __init__(self, *, private_key, **kwargs):
        super().__init__(**kwargs)
        self._private_key = private_key
        self._mechanisms: dict = {}

    def get_signature_mechanism_for_digest(self, digest_algorithm):
        # Asked four times per signature; depends on the key and the digest only.
        mechanism = self._mechanisms.get(digest_algorithm)
        if mechanism is None:
            built = super().get_signature_mechanism_for_digest(digest_algorithm)
            mechanism = self._mechanisms[digest_algorithm] = type(built).load(built.dump())
        return mechanism

    def _signed_attr_providers(self, *args, **kwargs):
        # pyHanko's internal hook (should it go, this is no longer called: signatures stay
        # the same, only slower). The signing-certificate attribute's value, built with the
        # certificate's parsed issuer name, was what asn1crypto encoded again and again.
        for provider in super()._signed_attr_providers(*args, **kwargs):
            if type(provider) is SigningCertificateV2Provider:
                provider = _SigningCertificateFromDer(signing_cert=provider.signing_cert)
            yield provider

    async def signed_attrs(self, *args, **kwargs):
        attributes = await super().signed_attrs(*args, **kwargs)
        return type(attributes).load(attributes.dump())

    def signer_info(self, *args, **kwargs):
        info = super().signer_info(*args, **kwargs)
        return type(info).load(info.dump())

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        name = mechanism["algorithm"].native
        key = self._private_key
        if name == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            pss, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, pss, hash_algorithm)
        if name == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


class _SigningCertificateFromDer(SigningCertificateV2Provider):
    """pyHanko's signing-certificate-v2 value, read back from its DER (KeyHoldingSigner)."""

    async def build_attr_value(self, dry_run=False):
        value = await super().build_attr_value(dry_run=dry_run)
        return type(value).load(value.dump())


def open_pkcs12(data: bytes, password: str, *, checked: bool = False) -> signers.SimpleSigner:
    """A signer from a PKCS#12 file; RSA keys sign with RSASSA-PSS (domain.md).

    ``checked``: the file was fully checked before (an official's, at upload) and is opened
    again without repeating the costly part of the RSA key check (``_open_checked``)."""
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.keys.internal import (
        translate_pyca_cryptography_cert_to_asn1,
        translate_pyca_cryptography_key_to_asn1,
    )
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    opened = _open_checked(data, password.encode()) if checked else None
    if opened is None:
        # The reference path, and the one that tells what went wrong (a wrong password).
        try:
            opened = pkcs12.load_key_and_certificates(data, password.encode())
        except (ValueError, TypeError) as exc:
            raise SigningError(
                _("The certificate could not be opened: check the password.")
            ) from exc
    key, certificate, chain = opened
    if key is None or certificate is None:
        raise SigningError(_("The certificate could not be opened: check the password."))
    registry = SimpleCertificateStore()
    registry.register_multiple(translate_pyca_cryptography_cert_to_asn1(c) for c in chain)
    return KeyHoldingSigner(
        private_key=key,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        cert_registry=registry,
        prefer_pss=True,
    )


def _open_checked(data: bytes, password: bytes):
    """(key, certificate, chain) from a PKCS#12 file checked before, or None to take the
    reference path (anything unusual, a wrong password included).

    ``pkcs12.load_key_and_certificates`` runs OpenSSL's full RSA key check, whose
    primality tests of p and q are most of an opening's cost (about 30 of 35 ms for RSA
    2048, 190 ms for 3072) and cannot be turned off there. An official's file had that
    check when it was uploaded (``credential_upload``), and the key cannot have changed
    since without the password: so the key is decrypted here from its shrouded bag without
    the primality tests (``unsafe_skip_rsa_key_validation``), and what stays cheap is still
    checked: the key's arithmetic (n = pq and the CRT exponents; an inconsistent key is what
    would make an RSA signature leak its primes) and that it is the certificate's key. The
    certificates come from the file's other bags, decrypted by OpenSSL as usual; the
    file's integrity MAC is not verified again, its password is proven by the key's
    decryption. The PBKDF2 iterations are the file's own, paid on both paths."""
    from asn1crypto import cms
    from asn1crypto import pkcs12 as asn1_pkcs12
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_der_private_key,
        pkcs12,
    )

    try:
        keys, safes = [], []
        for info in asn1_pkcs12.Pfx.load(data).authenticated_safe:
            if info["content_type"].native != "data":
                safes.append(info)  # an encrypted safe: certificates, for OpenSSL
                continue
            others = []
            for bag in asn1_pkcs12.SafeContents.load(info["content"].native):
                if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                    keys.append(bag["bag_value"].untag().dump())
                else:
                    others.append(bag)
            if others:
                content = asn1_pkcs12.SafeContents(others).dump()
                safes.append(cms.ContentInfo({"content_type": "data", "content": content}))
        if len(keys) != 1:
            return None
        key = load_der_private_key(keys[0], password, unsafe_skip_rsa_key_validation=True)
        if isinstance(key, RSAPrivateKey) and not _consistent(key):
            return None
        # The same file without its key and MAC: OpenSSL decrypts the certificates only.
        auth_safe = asn1_pkcs12.AuthenticatedSafe(safes).dump()
        rest = asn1_pkcs12.Pfx(
            {"version": "v3", "auth_safe": {"content_type": "data", "content": auth_safe}}
        ).dump()
        _none, _no_certificate, certificates = pkcs12.load_key_and_certificates(rest, password)
    except (ValueError, TypeError, KeyError):
        return None
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    mine = [
        c
        for c in certificates
        if c.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) == public
    ]
    if len(mine) != 1:
        return None
    return key, mine[0], [c for c in certificates if c is not mine[0]]


def _consistent(key) -> bool:
    """The relations between an RSA key's numbers, without testing p and q for primality."""
    numbers = key.private_numbers()
    p, q, e, n = numbers.p, numbers.q, numbers.public_numbers.e, numbers.public_numbers.n
    return (
        p > 1
        and q > 1
        and p * q == n
        and numbers.d * e % ((p - 1) * (q - 1) // math.gcd(p - 1, q - 1)) == 1
        and numbers.dmp1 == numbers.d % (p - 1)
        and numbers.dmq1 == numbers.d % (q - 1)
        and numbers.iqmp * q % p == 1
    )


@register("pkcs12")
class Pkcs12Backend(SignerBackend):
    """The official's uploaded PKCS#12 file, opened with the password typed now."""

    def signer(self, *, pkcs12: bytes, password: str, **kwargs) -> signers.Signer:
        if not password:
            raise SigningError(_("Enter the password of your signing certificate."))
        # Checked in full when it was uploaded (documents.services.credential_upload).
        return open_pkcs12(pkcs12, password, checked=True)


@register("seal-directory")
class SealDirectoryBackend(SignerBackend):
    """``<SEAL_DIR>/<agency code>.p12``; a department seals with its committee's seal."""

    def path_for(self, agency) -> Path | None:
        directory = Path(options()["SEAL_DIR"])
        while agency is not None:
            candidate = directory / f"{agency.code}.p12"
            if candidate.is_file():
                return candidate
            agency = agency.parent
        return None

    def available(self, agency) -> bool:
        return self.path_for(agency) is not None

    def signer(self, *, agency, **kwargs) -> signers.Signer:
        path = self.path_for(agency)
        if path is None:
            raise SigningError(_("No organisation seal is configured for this agency."))
        return _open_seal(str(path), path.stat().st_mtime, options()["SEAL_PASSWORD"])


@lru_cache(maxsize=64)
def _open_seal(path: str, mtime: float, password: str) -> signers.SimpleSigner:
    """A seal's key stays open in the worker that uses it (a replaced file is reopened):
    the seal is the server's own, unlike an official's key, which is opened per use."""
    return open_pkcs12(Path(path).read_bytes(), password)


def seal_backend() -> SealDirectoryBackend:
    return backend(options()["SEAL_BACKEND"])


def timestamper():
    url = options()["TIMESTAMP_URL"]
    if not url:
        return None
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    return RequestsHTTPTimeStamper(url, timeout=10)


def outside_event_loop(work):
    """pyHanko's synchronous API runs its own asyncio loop, which cannot start inside a
    running one (an async server, or a test driving a browser): run it in a thread then."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def signature_room(signer: signers.Signer) -> int:
    """Bytes to reserve in the PDF for the signature container (hex, so twice its DER size).

    Without it pyHanko estimates the size by building a whole dummy CMS container first
    (asn1crypto, about as costly as the real one). The container holds the certificates,
    the signature value, the signer's issuer name twice (SignerIdentifier and the
    signing-certificate-v2 attribute) and a few hundred bytes of algorithm identifiers and
    signed attributes; 2 KiB more than that covers them with a wide margin. A timestamp
    token's size is the server's: with a timestamp server, pyHanko's estimate is kept."""
    certificates = [signer.signing_cert, *(signer.cert_registry or ())]
    der = sum(len(certificate.dump()) for certificate in certificates)
    public_key = signer.signing_cert.public_key
    signature = 2 * public_key.byte_size + 16  # ECDSA's (r, s) is at most twice the size
    issuer = len(signer.signing_cert.issuer.dump())
    return 2 * (der + signature + 2 * issuer + 2048)


class _StampReaders(threading.local):
    """The stamps' PDFs as parsed by pyHanko, a few per thread: the seal's stamp, the same
    for every paper of an agency, is read once instead of once per signature (pyHanko's
    reader decodes a whole object stream for each object it takes from it: 2.3 ms, against
    0.2 ms for an import from a reader already used)."""

    SIZE = 8

    def __init__(self):
        self.readers: OrderedDict[bytes, PdfFileReader] = OrderedDict()

    def get(self, pdf: bytes) -> PdfFileReader:
        reader = self.readers.get(pdf)
        if reader is None:
            reader = self.readers[pdf] = PdfFileReader(io.BytesIO(pdf))
            if len(self.readers) > self.SIZE:
                self.readers.popitem(last=False)
        else:
            self.readers.move_to_end(pdf)
        return reader


_stamp_readers = _StampReaders()


class _StampPage(content.ImportedPdfPage):
    """A stamp's first page as the appearance's background: pyHanko's ImportedPdfPage,
    from a PDF in memory (that one opens a file name) through the thread's readers."""

    def __init__(self, pdf: bytes):
        super().__init__(file_name=None)
        self.reader = _stamp_readers.get(pdf)

    def render(self) -> bytes:
        # Each import gets objects of its own in the writer; the reader is only read.
        xobject = self._ensure_writer.import_page_as_xobject(self.reader, page_ix=0)
        name = "/Import" + uuid.uuid4().hex
        self.resources.xobject[name] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name.encode("ascii") + b" Do"


def sign_pdf(
    pdf: bytes,
    *,
    signer: signers.Signer,
    field_name: str,
    box: Box | None,
    stamp_pdf: bytes | None,
    reason: str,
    location: str,
) -> bytes:
    """Add one PAdES B-B (B-T with a timestamp server) signature as an incremental update,
    so earlier signatures stay valid."""
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
    )
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        if box is not None:
            fields.append_signature_field(
                writer, fields.SigFieldSpec(field_name, on_page=box.page, box=box.rect)
            )
        style = None
        if stamp_pdf is not None and box is not None:
            style = StaticStampStyle(background=_StampPage(stamp_pdf), border_width=0)
        stamper = timestamper()
        pdf_signer = signers.PdfSigner(
            metadata, signer=signer, stamp_style=style, timestamper=stamper
        )
        room = None if stamper is not None else signature_room(signer)
        return outside_event_loop(
            lambda: pdf_signer.sign_pdf(writer, bytes_reserved=room).getvalue()
        )
    except SigningError:
        raise
    except Exception as exc:  # a broken token, a timestamp server down, a filled field
        log.warning("signature %s failed", field_name, exc_info=True)
        raise SigningError(
            _(
                "The signature could not be made (%(kind)s). Try again; if it fails again, "
                "tell the administrator."
            )
            % {"kind": type(exc).__name__}
        ) from exc


def check_trusted(certificate, intermediates=()) -> None:
    """The certificate chains to a configured trust root and may make signatures with
    non-repudiation; otherwise SigningError. Checked at upload and at each signature, so a
    self-made certificate never signs a paper."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    roots = trust_roots()
    if not roots:
        raise SigningError(_("No trusted certification authority is configured."))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    validator = CertificateValidator(
        certificate, intermediate_certs=list(intermediates), validation_context=context
    )
    try:
        outside_event_loop(lambda: asyncio.run(validator.async_validate_usage({"non_repudiation"})))
    except (PathBuildingError, PathValidationError) as exc:
        raise SigningError(
            _("This certificate was not issued by a trusted certification authority.")
        ) from exc
    except Exception as exc:  # an invalid key usage, an expired certificate
        raise SigningError(
            _("This certificate cannot be used for signatures: %(error)s") % {"error": exc}
        ) from exc


def key_is_encrypted(pkcs12_data: bytes) -> bool:
    """Every private key in the file is stored encrypted (a shrouded key bag), not only
    protected by the file's integrity password."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    try:
        for info in asn1_pkcs12.Pfx.load(pkcs12_data).authenticated_safe:
            if info["content_type"].native != "data":
                continue  # an encrypted safe: what is inside is encrypted
            contents = asn1_pkcs12.SafeContents.load(info["content"].native)
            if any(bag["bag_id"].native == "key_bag" for bag in contents):
                return False
    except (ValueError, TypeError, KeyError):
        return False
    return True
