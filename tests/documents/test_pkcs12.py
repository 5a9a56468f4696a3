"""Opening an official's PKCS#12 file at each signature: the checked path (no primality
tests, the file was checked in full at upload) gives what the reference path gives, and
refuses what the reference path refuses."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from documents import pki
from documents.signing import SigningError, _open_checked, backend, open_pkcs12

PASSWORD = "mật khẩu 1"  # noqa: S105 - a throw-away key made for the test


@pytest.fixture(scope="module")
def ca():
    return pki.make_ca()


def _der(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _legacy(key, certificate, chain) -> bytes:
    """As older CA tools write them: 3DES with the PKCS#12 key derivation, SHA-1 MAC."""
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2048)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the legacy format under test
        .build(PASSWORD.encode())
    )
    return pkcs12.serialize_key_and_certificates(b"signer", key, certificate, chain, encryption)


@pytest.mark.parametrize("legacy", [False, True], ids=["aes-pbkdf2", "3des-legacy"])
def test_the_checked_path_opens_what_the_reference_path_opens(ca, legacy):
    person = pki.issue(ca, common_name="Lù Văn Páo", organisation="Ban Dân tộc")
    data = (
        _legacy(person.key, person.certificate, [ca.certificate])
        if legacy
        else person.pkcs12(password=PASSWORD.encode(), chain=[ca.certificate], name="Páo")
    )
    key, certificate, chain = _open_checked(data, PASSWORD.encode())
    assert key.private_numbers() == person.key.private_numbers()
    assert _der(certificate) == _der(person.certificate)
    assert [_der(c) for c in chain] == [_der(ca.certificate)]
    signer = backend("pkcs12").signer(pkcs12=data, password=PASSWORD)
    reference = open_pkcs12(data, PASSWORD)
    assert signer.signing_cert.dump() == reference.signing_cert.dump()
    assert [c.dump() for c in signer.cert_registry] == [c.dump() for c in reference.cert_registry]


def test_a_wrong_password_is_refused(ca):
    data = pki.signer_pkcs12(ca, name="Páo", organisation="Ban", password=PASSWORD.encode())
    assert _open_checked(data, b"wrong") is None
    with pytest.raises(SigningError):
        backend("pkcs12").signer(pkcs12=data, password="wrong")


def test_an_inconsistent_rsa_key_is_refused(ca):
    """A key whose numbers do not fit together never signs, on either path."""
    person = pki.issue(ca, common_name="Páo", organisation="Ban")
    numbers = person.key.private_numbers()
    broken = rsa.RSAPrivateNumbers(
        p=numbers.p,
        q=numbers.q,
        d=numbers.d,
        dmp1=numbers.dmp1,
        dmq1=numbers.dmq1,
        iqmp=numbers.iqmp + 1,
        public_numbers=numbers.public_numbers,
    ).private_key(unsafe_skip_rsa_key_validation=True)
    data = pkcs12.serialize_key_and_certificates(
        b"signer",
        broken,
        person.certificate,
        [ca.certificate],
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    assert _open_checked(data, PASSWORD.encode()) is None
    with pytest.raises(SigningError):
        backend("pkcs12").signer(pkcs12=data, password=PASSWORD)


def test_a_key_that_is_not_the_certificates_is_not_taken(ca):
    person = pki.issue(ca, common_name="Páo", organisation="Ban")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = pkcs12.serialize_key_and_certificates(
        b"signer",
        other,
        None,
        [person.certificate, ca.certificate],
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    assert _open_checked(data, PASSWORD.encode()) is None


def test_an_ecdsa_key_opens_on_the_checked_path(ca):
    key = ec.generate_private_key(ec.SECP256R1())
    person = pki.issue(ca, common_name="Páo", organisation="Ban")
    # pki issues RSA keys only: the same certificate for an ECDSA P-256 key.
    ecdsa_certificate = (
        x509.CertificateBuilder()
        .subject_name(person.certificate.subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(person.certificate.not_valid_before_utc)
        .not_valid_after(person.certificate.not_valid_after_utc)
        .sign(ca.key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"signer",
        key,
        ecdsa_certificate,
        [ca.certificate],
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    opened_key, opened_certificate, _chain = _open_checked(data, PASSWORD.encode())
    assert opened_key.private_numbers() == key.private_numbers()
    assert _der(opened_certificate) == _der(ecdsa_certificate)
