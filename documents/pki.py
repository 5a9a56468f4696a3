"""A local certificate authority for the demo and the tests (``manage.py make_dev_pki``).

Production certificates come from a licensed CA that chains to the national root; this
module only makes a stand-in with the same shape: a root CA, an official's signing
certificate (PKCS#12, protected by a password) and one organisation seal per agency.
Keys are RSA 2048 and signatures RSASSA-PSS with SHA-256, within domain.md's "RSA ≥ 2048
(PSS), SHA-2".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

# RSA 2048, the smallest size domain.md allows (RSA ≥ 2048): OpenSSL checks an RSA key's
# primes each time a PKCS#12 file is opened, about 60 ms for 2048 bits and 190 ms for 3072
# on the CI machine, and an official's file is opened at every signature.
KEY_SIZE = 2048
# The demo walks dossiers through their flow at dates up to ten months back and signs them
# then: development certificates are valid from a little more than that.
BACKDATED_DAYS = 400


@dataclass
class Issued:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    def pkcs12(self, *, password: bytes, chain: list[x509.Certificate], name: str) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            name.encode(),
            self.key,
            self.certificate,
            chain,
            serialization.BestAvailableEncryption(password),
        )

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str, organisation: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(*, common_name: str = "motcua Dev Root CA", years: int = 10) -> Issued:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    name = _name(common_name, "motcua development (not trusted outside this installation)")
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=BACKDATED_DAYS + 1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def issue(
    ca: Issued,
    *,
    common_name: str,
    organisation: str,
    days: int = 730,
    not_before: dt.datetime | None = None,
    crl_url: str = "",
) -> Issued:
    """A signing certificate (non-repudiation) for a person or an organisation's seal.

    ``crl_url``: where the CA publishes its revocation list (the certificate's CRL
    distribution point). Certificates issued before motcua published one name none; they
    are checked against the development CA's list all the same (documents/revocation.py)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    now = dt.datetime.now(dt.UTC)
    start = not_before or now - dt.timedelta(days=BACKDATED_DAYS)
    builder = x509.CertificateBuilder()
    if crl_url:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(crl_url)],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
    certificate = (
        builder.subject_name(_name(common_name, organisation))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(certificate, key)


# --- The development PKI on disk (manage.py make_dev_pki) ------------------------------------


def load_ca(directory, password: bytes) -> Issued | None:
    from pathlib import Path

    directory = Path(directory)
    cert_file, key_file = directory / "ca.pem", directory / "ca-key.pem"
    if not (cert_file.is_file() and key_file.is_file()):
        return None
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=password)
    return Issued(certificate, key)


def write_ca(directory, password: bytes) -> Issued:
    from pathlib import Path

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    (directory / "ca.pem").write_bytes(ca.pem())
    key_file = directory / "ca-key.pem"
    key_file.write_bytes(
        ca.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(password),
        )
    )
    key_file.chmod(0o600)
    return ca


def write_seal(
    seals, ca: Issued, *, code: str, name: str, password: bytes, crl_url: str = ""
) -> None:
    from pathlib import Path

    seals = Path(seals)
    seals.mkdir(parents=True, exist_ok=True)
    seal = issue(ca, common_name=name, organisation=name, crl_url=crl_url)
    target = seals / f"{code}.p12"
    target.write_bytes(seal.pkcs12(password=password, chain=[ca.certificate], name=code))
    target.chmod(0o600)


def signer_pkcs12(
    ca: Issued, *, name: str, organisation: str, password: bytes, crl_url: str = ""
) -> bytes:
    person = issue(ca, common_name=name, organisation=organisation, crl_url=crl_url)
    return person.pkcs12(password=password, chain=[ca.certificate], name=name)


# --- Revocation ---------------------------------------------------------------------------------

# How long a published list is good for: relying parties fetch it again after that. The
# list is signed afresh when a certificate is revoked, and at least this often.
CRL_VALIDITY = dt.timedelta(days=1)

REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}


def make_crl(
    ca: Issued,
    revoked: list[tuple[int, dt.datetime, str]],
    *,
    number: int,
    this_update: dt.datetime,
) -> bytes:
    """The CA's certificate revocation list (RFC 5280, DER): ``revoked`` holds
    (serial number, revocation time, reason) for each revoked certificate."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    for serial, revoked_at, reason in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
        if reason != "unspecified" and reason in REASONS:
            entry = entry.add_extension(x509.CRLReason(REASONS[reason]), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
