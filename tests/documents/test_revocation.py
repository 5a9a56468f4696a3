"""Revocation (issue 16, item 7): the development CA publishes a CRL at motcua's own URL,
revokes certificates on request, and a revoked certificate neither signs nor leaves its
papers "valid". Another CA's list is fetched over HTTP from its certificates'
distribution points; a list that cannot be fetched leaves a paper unconfirmed.

Real HTTP on loopback throughout: motcua's live server, or a small HTTP server standing
for a licensed CA's publication point. No mocks."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from documents import pki
from documents.models import RevokedCertificate, SignerCredential
from documents.revocation import certificate_revoke, crl_url, dev_crl
from documents.services import current_result, result_sign
from documents.signing import SigningError
from documents.verification import verify_pdf
from tests.conftest import SIGNER_PASSWORD, give_certificate
from workflows.models import Status
from workflows.services import dossiers as transitions


@pytest.fixture
def approved(walk, django_capture_on_commit_callbacks):
    def _approved():
        with django_capture_on_commit_callbacks(execute=True):
            return walk(Status.APPROVED)

    return _approved


@pytest.fixture
def through_received(walk, django_capture_on_commit_callbacks):
    """A dossier received, its papers rendered after commit as in production."""

    def _received():
        with django_capture_on_commit_callbacks(execute=True):
            return walk(Status.RECEIVED)

    return _received


def _bytes(document) -> bytes:
    document.refresh_from_db()
    with document.file.open("rb") as handle:
        return handle.read()


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("kq.pdf", data, content_type="application/pdf")


def _today() -> str:
    return timezone.localdate().strftime("%d/%m/%Y")


# --- The development CA ----------------------------------------------------------------------


def test_a_revoked_signer_s_papers_say_revoked_and_it_cannot_sign_again(
    approved, signing, officers, client
):
    signer = officers["signer"]
    give_certificate(signing, signer)
    document = result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD)
    data = _bytes(document)
    before = verify_pdf(data)
    assert before.ok, before
    assert [s.revocation for s in before.signatures] == ["good", "good"]

    call_command("revoke_certificate", "--user", signer.username, "--reason", "key_compromise")
    record = RevokedCertificate.objects.get()
    credential = SignerCredential.objects.get(user=signer, active=True)
    assert (record.serial, record.reason) == (credential.serial, "key_compromise")

    after = verify_pdf(data)
    assert not after.ok and after.revoked
    official, seal = after.signatures
    assert official.revoked and official.intact and official.trusted
    assert timezone.localtime(official.revoked_at).strftime("%d/%m/%Y") == _today()
    assert official.revocation_reason == "key_compromise"
    assert seal.revocation == "good"  # the seal's certificate was not revoked

    # A new signature is refused before anything is signed.
    other = approved()
    with pytest.raises(SigningError, match="revoked on " + _today()):
        result_sign(dossier=other, by=signer, password=SIGNER_PASSWORD)
    assert current_result(other).signatures == []

    # The public check says so, in Vietnamese, with the date.
    client.cookies["django_language"] = "vi"
    page = client.post(reverse("documents:verify_check"), {"file": _upload(data)})
    assert page.status_code == 200
    html = page.content.decode()
    assert "đã bị thu hồi" in html
    assert _today() in html
    assert "Hợp lệ:" not in html


def test_a_certificate_issued_before_crls_naming_none_is_checked_too(signing, officers):
    """make_dev_pki's certificates name /pki/ca.crl; older ones name no distribution point
    and are checked against the development CA's list all the same."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    give_certificate(signing, officers["signer"])  # made without a distribution point
    credential = SignerCredential.objects.get(user=officers["signer"])
    _key, certificate, _chain = pkcs12.load_key_and_certificates(
        bytes(credential.pkcs12), SIGNER_PASSWORD.encode()
    )
    with pytest.raises(x509.ExtensionNotFound):
        certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    certificate_revoke(certificate=certificate)
    listed = x509.load_der_x509_crl(dev_crl())
    assert listed.get_revoked_certificate_by_serial_number(certificate.serial_number)


def test_make_dev_pki_writes_the_crl_url_into_new_certificates(settings, tmp_path, officers):
    from cryptography.hazmat.primitives.serialization import pkcs12

    settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"] = [str(tmp_path / "pki" / "ca.pem")]
    settings.MOTCUA["DOCUMENTS"]["SEAL_DIR"] = str(tmp_path / "pki" / "seals")
    settings.MOTCUA["SITE_URL"] = "http://127.0.0.1:8642"
    call_command("make_dev_pki", "--signer", officers["signer"].username, "--password", "pw")
    assert crl_url() == "http://127.0.0.1:8642/pki/ca.crl"
    for data, password in (
        ((tmp_path / "pki" / "seals" / "H22.p12").read_bytes(), settings.DEV_SEAL_PASSWORD),
        (bytes(SignerCredential.objects.get(user=officers["signer"]).pkcs12), "pw"),
    ):
        _key, certificate, _chain = pkcs12.load_key_and_certificates(data, password.encode())
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
        assert [p.full_name[0].value for p in points.value] == [crl_url()]


def test_the_crl_is_published_over_http_and_relying_parties_read_it(
    live_server, transactional_db, signing
):
    """A relying party (pyhanko-certvalidator, fetching over HTTP) finds a certificate
    good, then revoked once the CA revokes it; the list is the CA's, signed by it."""
    from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator.errors import RevokedError

    ca = signing["ca"]
    url = live_server.url + reverse("documents:crl")
    issued = pki.issue(ca, common_name="Lù Văn Páo", organisation="Ban Dân tộc", crl_url=url)

    def check():
        context = ValidationContext(
            trust_roots=[translate_pyca_cryptography_cert_to_asn1(ca.certificate)],
            allow_fetching=True,
            revocation_mode="hard-fail",
        )
        validator = CertificateValidator(
            translate_pyca_cryptography_cert_to_asn1(issued.certificate),
            validation_context=context,
        )
        return asyncio.run(validator.async_validate_usage({"non_repudiation"}))

    check()  # good: the list was fetched and does not name it
    response = requests.get(url, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pkix-crl"
    published = x509.load_der_x509_crl(response.content)
    assert published.is_signature_valid(ca.certificate.public_key())
    assert published.issuer == ca.certificate.subject
    assert published.next_update_utc > dt.datetime.now(dt.UTC)

    certificate_revoke(certificate=issued.certificate, reason="superseded")
    with pytest.raises(RevokedError):
        check()
    entry = x509.load_der_x509_crl(
        requests.get(url, timeout=5).content
    ).get_revoked_certificate_by_serial_number(issued.certificate.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.superseded
    )


def test_no_crl_where_there_is_no_development_ca(client, db):
    assert client.get(reverse("documents:crl")).status_code == 404


def test_revoking_needs_a_certificate_of_the_development_ca(signing, officers):
    with pytest.raises(CommandError, match="no active signing certificate"):
        call_command("revoke_certificate", "--user", officers["signer"].username)
    with pytest.raises(CommandError, match="hexadecimal"):
        call_command("revoke_certificate", "--serial", "not-hex")
    other = pki.make_ca(common_name="Another CA")
    foreign = pki.issue(other, common_name="X", organisation="Y")
    from documents.revocation import RevocationError

    with pytest.raises(RevocationError, match="another CA"):
        certificate_revoke(certificate=foreign.certificate)
    assert not RevokedCertificate.objects.exists()
    # Revoking twice keeps the first record.
    mine = pki.issue(signing["ca"], common_name="Z", organisation="Y")
    first = certificate_revoke(certificate=mine.certificate)
    assert certificate_revoke(certificate=mine.certificate).pk == first.pk


def test_the_admin_revokes_a_signing_certificate(admin_client, signing, officers):
    give_certificate(signing, officers["signer"])
    credential = SignerCredential.objects.get(user=officers["signer"])
    response = admin_client.post(
        reverse("admin:documents_signercredential_changelist"),
        {"action": "revoke", "_selected_action": [credential.pk]},
    )
    assert response.status_code == 302
    record = RevokedCertificate.objects.get()
    assert record.serial == credential.serial and record.revoked_by is not None
    listing = admin_client.get(reverse("admin:documents_revokedcertificate_changelist"))
    assert credential.serial in listing.content.decode()


def test_a_revoked_certificate_cannot_be_uploaded(signing, officers):
    from cryptography.hazmat.primitives.serialization import pkcs12
    from django.core.exceptions import ValidationError

    from documents.services import credential_upload

    data = pki.signer_pkcs12(signing["ca"], name="A", organisation="B", password=b"pw-123456")
    _key, certificate, _chain = pkcs12.load_key_and_certificates(data, b"pw-123456")
    certificate_revoke(certificate=certificate)
    with pytest.raises(ValidationError, match="revoked"):
        credential_upload(user=officers["signer"], data=data, password="pw-123456")


# --- Another CA's list, fetched from its distribution point ------------------------------------


class CrlPoint:
    """A licensed CA's publication point: its CRL over HTTP on a free loopback port."""

    def __init__(self, ca: pki.Issued):
        self.ca = ca
        self.revoked: list[tuple[int, dt.datetime, str]] = []
        self.fetches = 0
        self.on_fetch = lambda: None
        point = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                point.fetches += 1
                point.on_fetch()
                body = pki.make_crl(
                    point.ca,
                    point.revoked,
                    number=point.fetches,
                    this_update=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5),
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/pkix-crl")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/licensed.crl"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def licensed(settings, signing, tmp_path):
    """A second trusted CA that motcua does not run, publishing its CRL over HTTP."""
    ca = pki.make_ca(common_name="Licensed CA (test)")
    root = tmp_path / "licensed.pem"
    root.write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"] = [
        *settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"],
        str(root),
    ]
    point = CrlPoint(ca)
    yield point
    point.stop()


def _licensed_signer(licensed, user):
    from documents.services import credential_upload

    data = pki.signer_pkcs12(
        licensed.ca,
        name=user.get_full_name() or user.username,
        organisation="Ban Dân tộc tỉnh Lào Cai",
        password=SIGNER_PASSWORD.encode(),
        crl_url=licensed.url,
    )
    credential_upload(user=user, data=data, password=SIGNER_PASSWORD)
    credential = SignerCredential.objects.get(user=user, active=True)
    return int(credential.serial, 16)


def test_another_ca_s_list_is_fetched_unrevoked_valid_then_revoked(approved, licensed, officers):
    signer = officers["signer"]
    serial = _licensed_signer(licensed, signer)
    document = result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD, seal=False)
    data = _bytes(document)
    report = verify_pdf(data)
    assert report.ok and report.signatures[0].revocation == "good"
    assert licensed.fetches >= 2  # at signing and at verification, over HTTP

    revoked_at = (timezone.now() - dt.timedelta(minutes=1)).replace(microsecond=0)
    licensed.revoked.append((serial, revoked_at, "key_compromise"))
    report = verify_pdf(data)
    assert not report.ok and report.revoked
    assert report.signatures[0].revoked_at == revoked_at
    with pytest.raises(SigningError, match="revoked on"):
        result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD, seal=False)


def test_an_unreachable_list_leaves_the_paper_unconfirmed_and_signing_refused(
    approved, licensed, officers, client
):
    signer = officers["signer"]
    _licensed_signer(licensed, signer)
    document = result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD, seal=False)
    data = _bytes(document)
    licensed.stop()

    report = verify_pdf(data)
    (check,) = report.signatures
    assert check.intact and check.trusted
    assert check.revocation == "unknown"
    assert not report.ok and not report.revoked and report.revocation_unknown

    page = client.post(
        reverse("documents:verify_check"), {"file": _upload(data)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "could not be checked" in html
    assert "Valid: every signature" not in html

    with pytest.raises(SigningError, match="could not be checked"):
        result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD, seal=False)


# --- The organisation's seal (review of #16: it was never checked) -------------------------------


def _seal_certificate(dossier) -> x509.Certificate:
    from documents.signing import seal_backend

    signer = seal_backend().signer(agency=dossier.handling_agency)
    return x509.load_der_x509_certificate(signer.signing_cert.dump())


def test_a_revoked_seal_seals_nothing_and_a_valid_one_seals_as_before(
    approved, through_received, signing, officers
):
    from documents.models import Document, DocumentStatus, Kind

    signer = officers["signer"]
    first = result_sign(dossier=approved(), by=signer, personal=False, seal=True)
    assert [s["role"] for s in first.signatures] == ["seal"]
    assert verify_pdf(_bytes(first)).ok

    certificate_revoke(certificate=_seal_certificate(first.dossier), reason="key_compromise")

    # The signing officer is told why, and nothing is written.
    other = approved()
    with pytest.raises(SigningError, match="seal certificate was revoked on " + _today()):
        result_sign(dossier=other, by=signer, personal=False, seal=True)
    assert current_result(other).signatures == []
    assert not other.history.filter(action="result_signed").exists()

    # A paper the system seals by itself fails visibly (the admin's documents list, with
    # the reason), and is not sealed with the revoked certificate.
    dossier = through_received()
    receipt = Document.objects.get(dossier=dossier, kind=Kind.RECEIPT)
    assert receipt.status in (DocumentStatus.PENDING, DocumentStatus.FAILED)
    assert not receipt.file and receipt.attempts >= 1
    assert "seal certificate was revoked on " + _today() in receipt.last_error


def test_a_revoked_seal_is_shown_to_the_officer_on_the_signing_form(
    signing, officers, citizen, procedure, province, django_capture_on_commit_callbacks, client
):
    from tests.documents.test_documents import _flow_to_signing
    from tests.workspace.test_path import login
    from workflows.models import DossierTask

    dossier = _flow_to_signing(
        procedure, province, officers, citizen, django_capture_on_commit_callbacks
    )
    certificate_revoke(certificate=_seal_certificate(dossier))
    task = DossierTask.objects.get(dossier=dossier, stage="signing", status="NEW")
    login(client, officers["signer"])
    client.post(reverse("workspace:claim", args=[task.pk]))
    client.cookies["django_language"] = "vi"
    page = client.post(
        reverse("workspace:act", args=[task.pk]), {"action": "sign", "sign-seal": "on"}
    )
    assert page.status_code == 400
    assert "Chứng thư số của con dấu cơ quan đã bị thu hồi ngày " + _today() in (
        page.content.decode()
    )
    assert current_result(dossier).signatures == []


# --- Revocation lists are read before the signing transaction locks anything --------------------


def test_the_crl_is_fetched_before_any_lock_and_a_revoked_signer_writes_nothing(
    approved, licensed, officers
):
    from django.db import connections

    signer = officers["signer"]
    serial = _licensed_signer(licensed, signer)
    dossier = approved()
    # The test runs inside transactions of its own; the signing path must add none while
    # the list is fetched (an open transaction there holds the dossier's row lock). The
    # list is served from another thread: it looks at this thread's connection.
    signing_connection = connections["default"]
    depth = len(signing_connection.atomic_blocks)
    seen: list[int] = []
    licensed.on_fetch = lambda: seen.append(len(signing_connection.atomic_blocks) - depth)

    document = result_sign(dossier=dossier, by=signer, password=SIGNER_PASSWORD, seal=False)
    assert document.signatures and seen and set(seen) == {0}

    # Revoked: the check happens (one more fetch) and nothing is written.
    licensed.revoked.append((serial, timezone.now() - dt.timedelta(minutes=1), "key_compromise"))
    seen.clear()
    other = approved()
    with pytest.raises(SigningError, match="revoked on"):
        result_sign(dossier=other, by=signer, password=SIGNER_PASSWORD, seal=False)
    assert seen and set(seen) == {0}
    assert current_result(other).signatures == []
    assert not other.history.filter(action="result_signed").exists()


# --- Revoked after signing: valid at signing time, when that time is proven ----------------------


def _issue(dossier, signer):

    transitions.dossier_sign(dossier=dossier, by=signer)
    transitions.dossier_issue(dossier=dossier)


def _check_page(client, data) -> str:
    client.cookies["django_language"] = "vi"
    page = client.post(reverse("documents:verify_check"), {"file": _upload(data)})
    assert page.status_code == 200
    return page.content.decode()


def test_a_certificate_revoked_after_motcua_signed_leaves_its_paper_valid(
    approved, signing, officers, client
):
    import time

    signer = officers["signer"]
    give_certificate(signing, signer)
    dossier = approved()
    document = result_sign(dossier=dossier, by=signer, password=SIGNER_PASSWORD)
    _issue(dossier, signer)
    data = _bytes(document)
    # A list dates a revocation to the second: let a whole second pass after signing.
    time.sleep(1.2)
    call_command("revoke_certificate", "--user", signer.username, "--reason", "key_compromise")

    # motcua's own record proves when it signed these very bytes.
    html = _check_page(client, data)
    assert "Hợp lệ:" in html
    assert f"Chứng thư số đã bị thu hồi ngày {_today()}, sau thời điểm ký" in html
    assert "hồ sơ ký lưu tại hệ thống" in html
    assert "Không hợp lệ" not in html

    # Checked with no proven time (only the signer's own claim, as for any file motcua
    # did not issue with exactly these bytes), the same signature is not valid.
    report = verify_pdf(data)
    assert not report.ok and report.revoked


def test_a_certificate_revoked_before_the_signing_time_leaves_its_paper_not_valid(
    approved, licensed, officers, client
):
    """The CA revoked the certificate at 10:00 and published it later; motcua signed at
    10:01 against the older list. Its own record then proves the paper was signed after
    the revocation: not valid."""
    signer = officers["signer"]
    serial = _licensed_signer(licensed, signer)
    dossier = approved()
    document = result_sign(dossier=dossier, by=signer, password=SIGNER_PASSWORD, seal=False)
    _issue(dossier, signer)
    data = _bytes(document)
    signed_at = dt.datetime.fromisoformat(document.signatures[0]["at"])
    licensed.revoked.append((serial, signed_at - dt.timedelta(minutes=1), "key_compromise"))

    html = _check_page(client, data)
    assert "sau thời điểm ký" not in html
    assert "Hợp lệ:" not in html
    assert "đã bị thu hồi" in html


def test_a_trusted_timestamp_before_the_revocation_proves_the_signing_time(
    approved, signing, officers, monkeypatch
):
    """A file motcua has no record of, timestamped by a trusted authority: the timestamp
    proves when it was signed."""
    import time

    from documents import signing as signing_module
    from documents.verification import REVOKED_LATER
    from tests.conftest import make_timestamper

    stamper = make_timestamper(signing["ca"])
    monkeypatch.setattr(signing_module, "timestamper", lambda: stamper)
    signer = officers["signer"]
    give_certificate(signing, signer)
    document = result_sign(dossier=approved(), by=signer, password=SIGNER_PASSWORD, seal=False)
    data = _bytes(document)
    time.sleep(1.2)
    call_command("revoke_certificate", "--user", signer.username)
    (check,) = verify_pdf(data).signatures
    assert check.timestamped and check.timestamp_trusted
    assert check.revocation == REVOKED_LATER and check.time_proof == "timestamp"
    assert verify_pdf(data).ok
