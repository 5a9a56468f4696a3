"""Private files in S3-compatible object storage: a real moto server on loopback, spoken to
over HTTP by boto3 through django-storages. Dossier files and documents go to the bucket,
stay private (no public ACL, no URL, server-side encryption), come back only through the
access-checked views, and an outage of the store is a clear message with nothing lost."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from documents.models import Document, DocumentStatus, Kind
from portal.models import CitizenProfile
from tests.conftest import make_user, sign_in
from tests.portal.test_apply import full_post, start
from workflows import services
from workflows.demo import minimal_pdf
from workflows.models import Dossier, Status
from workflows.services import dossiers as transitions

pytestmark = pytest.mark.django_db

boto3 = pytest.importorskip("boto3")
REGION = "us-east-1"
KEYS = {"aws_access_key_id": "motcua-test", "aws_secret_access_key": "motcua-test-secret"}
# Vietnamese, as the citizen reads it (LANGUAGE_CODE is vi).
STORE_DOWN_VI = "Không lưu được tệp này lúc này"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    """moto's S3 server as its own process on loopback (MOTCUA_TEST_S3_PORT, else a free
    port), for the whole session; each test gets its own bucket."""
    pytest.importorskip("moto")
    port = int(os.environ.get("MOTCUA_TEST_S3_PORT") or _free_port())
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    beside = Path(sys.executable).parent / "moto_server"
    server = str(beside) if beside.exists() else shutil.which("moto_server")
    if server is None:
        pytest.fail("moto[server] is installed but its moto_server command is not found")
    command = [server, "-H", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto_server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def applicant(citizen):
    """A citizen whose profile names the province: the apply page opens on the form."""
    CitizenProfile.objects.create(user=citizen, full_name="Lò Thị Mai", province="Lào Cai")
    return citizen


def s3_options(endpoint: str, bucket: str) -> dict:
    from botocore.config import Config

    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": REGION,
        "access_key": KEYS["aws_access_key_id"],
        "secret_key": KEYS["aws_secret_access_key"],
        "default_acl": "private",
        "object_parameters": {"ServerSideEncryption": "AES256"},
        "file_overwrite": False,
        # Small, so that downloads here go through the spooled file on disk.
        "max_memory_size": 1024,
        "client_config": Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            connect_timeout=2,
            read_timeout=5,
            retries={"mode": "standard", "max_attempts": 2},
        ),
    }


@pytest.fixture
def s3(settings, moto_endpoint):
    """The "private" storage on a fresh bucket of the moto server; ``s3.down()`` is an
    outage: the store's address then refuses every connection."""
    bucket = f"motcua-{uuid.uuid4().hex[:16]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, **KEYS)
    client.create_bucket(Bucket=bucket)

    def use(endpoint):
        settings.STORAGES = {
            **settings.STORAGES,
            "private": {
                "BACKEND": "workflows.s3storage.PrivateS3Storage",
                "OPTIONS": s3_options(endpoint, bucket),
            },
        }

    @contextlib.contextmanager
    def down():
        # A socket bound but not listening: connections to it are refused.
        with socket.socket() as dead:
            dead.bind(("127.0.0.1", 0))
            use(f"http://127.0.0.1:{dead.getsockname()[1]}")
            try:
                yield
            finally:
                use(moto_endpoint)

    def objects() -> list[str]:
        listing = client.list_objects_v2(Bucket=bucket)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))

    def body(key: str) -> bytes:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()

    use(moto_endpoint)
    return SimpleNamespace(
        client=client, bucket=bucket, endpoint=moto_endpoint, down=down, objects=objects, body=body
    )


def assert_private(s3, key: str) -> None:
    head = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)


def assert_no_store_address(s3, response) -> None:
    """Nothing the citizen receives names the store: not in the body, not in a header."""
    port = s3.endpoint.rsplit(":", 1)[1]
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode("utf-8", "replace")
    headers = " ".join(f"{k}: {v}" for k, v in response.items())
    for text in (body, headers):
        assert s3.bucket not in text
        assert s3.endpoint not in text and f"127.0.0.1:{port}" not in text
        assert "amazonaws" not in text and "X-Amz" not in text


def test_the_environment_switches_private_files_to_the_bucket(s3):
    """config/settings.py builds the S3 storage from MOTCUA_PRIVATE_STORAGE=s3 and the
    MOTCUA_S3_* variables: a fresh process saves through it, privately and encrypted."""
    script = (
        "import django; django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from django.core.files.storage import storages\n"
        "s = storages['private']\n"
        "name = s.save('probe/a.txt', ContentFile(b'motcua'))\n"
        "try:\n"
        "    s.url(name)\n"
        "except ValueError:\n"
        "    print('NO-URL')\n"
        "print(name, s.open(name).read().decode())\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MOTCUA_PRIVATE_STORAGE": "s3",
        "MOTCUA_S3_BUCKET": s3.bucket,
        "MOTCUA_S3_ENDPOINT_URL": s3.endpoint,
        "MOTCUA_S3_REGION": REGION,
        "MOTCUA_S3_ACCESS_KEY_ID": KEYS["aws_access_key_id"],
        "MOTCUA_S3_SECRET_ACCESS_KEY": KEYS["aws_secret_access_key"],
        "MOTCUA_S3_ADDRESSING_STYLE": "path",
        "MOTCUA_S3_PREFIX": "private",
        "MOTCUA_S3_SSE": "AES256",
    }
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["NO-URL", "probe/a.txt", "motcua"]
    assert s3.objects() == ["private/probe/a.txt"]
    assert_private(s3, "private/probe/a.txt")


def test_files_go_to_the_bucket_and_come_back_only_through_checked_views(
    client, s3, applicant, procedure, province
):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    response = client.post(
        reverse("portal:apply", args=[procedure.code]), full_post(procedure, province, key)
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    dossier = Dossier.objects.get(filing_key=key)
    components = list(dossier.components.all())
    assert components and s3.objects() == sorted(c.file.name for c in components)
    for component in components:
        assert_private(s3, component.file.name)
        assert hashlib.sha256(s3.body(component.file.name)).hexdigest() == component.sha256
    component = components[0]
    download = reverse("portal:file", args=[dossier.pk, component.pk])
    response = client.get(download)
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert hashlib.sha256(data).hexdigest() == component.sha256
    assert "no-store" in response["Cache-Control"]
    for page in (
        client.get(download),
        client.get(reverse("portal:edit", args=[dossier.pk])),
        client.get(reverse("portal:dossier", args=[dossier.pk])),
    ):
        assert page.status_code == 200
        assert_no_store_address(s3, page)
    with pytest.raises(ValueError, match="no URL"):
        component.file.url  # noqa: B018
    sign_in(client, make_user())
    assert client.get(download).status_code == 404


def test_an_outage_while_replacing_a_file_keeps_the_old_one_and_the_retry_works(
    client, s3, applicant, procedure, province
):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    client.post(reverse("portal:apply", args=[procedure.code]), full_post(procedure, province, key))
    dossier = Dossier.objects.get(filing_key=key)
    code = procedure.current_version.spec["components"][0]["code"]
    before = dossier.components.get(component_code=code)
    stored = s3.objects()
    replacement = minimal_pdf() + b"\n% another scan\n"

    def post():
        return {
            **full_post(procedure, province),
            "applicant_address": "Tổ 5, phường Cốc Lếu",
            f"file_{code}": SimpleUploadedFile("new.pdf", replacement, "application/pdf"),
        }

    edit = reverse("portal:edit", args=[dossier.pk])
    download = reverse("portal:file", args=[dossier.pk, before.pk])
    with s3.down():
        response = client.post(edit, post())
        assert response.status_code == 400
        body = response.content.decode()
        assert STORE_DOWN_VI in body
        assert "Tổ 5, phường Cốc Lếu" in body  # what was typed is on the page again
        assert_no_store_address(s3, response)
        unavailable = client.get(download)
        assert unavailable.status_code == 503 and unavailable["Retry-After"]
        assert_no_store_address(s3, unavailable)
    dossier.refresh_from_db()
    assert dossier.applicant_address == "Tổ 5, phường Cốc Lếu"
    current = dossier.components.get(component_code=code, superseded_at__isnull=True)
    assert current.pk == before.pk  # the old file is still the current one
    assert s3.objects() == stored
    assert client.get(download).status_code == 200

    assert client.post(edit, post()).status_code == 302
    current = dossier.components.get(component_code=code, superseded_at__isnull=True)
    assert current.pk != before.pk
    assert s3.body(current.file.name) == replacement
    assert len(s3.objects()) == len(stored) + 1  # the superseded file stays, for the record


def test_an_outage_on_the_first_filing_keeps_the_draft_and_the_retry_works(
    client, s3, applicant, procedure, province
):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    post = full_post(procedure, province, key, applicant_phone="0987654321")
    with s3.down():
        response = client.post(reverse("portal:apply", args=[procedure.code]), post)
    assert response.status_code == 400
    body = response.content.decode()
    components = procedure.current_version.spec["components"]
    assert body.count(STORE_DOWN_VI) >= len(components)
    assert "0987654321" in body
    assert "Traceback" not in body
    dossier = Dossier.objects.get(filing_key=key)
    assert dossier.status == Status.DRAFT and dossier.applicant_phone == "0987654321"
    assert not dossier.components.exists() and s3.objects() == []

    retry = full_post(procedure, province, applicant_phone="0987654321")
    response = client.post(reverse("portal:edit", args=[dossier.pk]), retry)
    assert response.status_code == 302
    assert dossier.components.count() == len(components) == len(s3.objects())


def test_the_result_is_stored_in_the_bucket_and_signing_waits_for_the_store(
    client, s3, walk, citizen, officers, signing
):
    from documents.services import current_result, result_sign
    from documents.signing import SigningError

    dossier = walk(Status.APPROVED)
    with (
        s3.down(),
        translation.override("vi"),
        pytest.raises(SigningError, match="chưa có gì được ký"),
    ):
        result_sign(dossier=dossier, by=officers["signer"], personal=False, seal=True)
    assert not Document.objects.filter(dossier=dossier, status=DocumentStatus.SIGNED).exists()
    result_sign(dossier=dossier, by=officers["signer"], personal=False, seal=True)
    transitions.dossier_sign(dossier=dossier, by=officers["signer"])
    transitions.dossier_issue(dossier=dossier)
    document = current_result(dossier)
    assert document.status == DocumentStatus.SIGNED and document.file.name in s3.objects()
    assert_private(s3, document.file.name)
    sign_in(client, citizen)
    response = client.get(reverse("portal:result", args=[dossier.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = b"".join(response.streaming_content)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == document.sha256
    page = client.get(reverse("portal:dossier", args=[dossier.pk]))
    assert page.status_code == 200
    assert_no_store_address(s3, page)
    sign_in(client, make_user())
    assert client.get(reverse("portal:result", args=[dossier.pk])).status_code == 404


def test_a_paper_whose_store_fails_stays_pending_and_the_sweep_stores_it(
    s3, walk, officers, django_capture_on_commit_callbacks
):
    import datetime as dt

    from documents.services import documents_sweep

    dossier = walk(Status.SUBMITTED)
    files = s3.objects()
    with s3.down(), django_capture_on_commit_callbacks(execute=True):
        transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    receipt = Document.objects.get(dossier=dossier, kind=Kind.RECEIPT)
    assert receipt.status == DocumentStatus.PENDING and not receipt.file
    assert receipt.attempts >= 1 and "StorageUnavailable" in receipt.last_error
    assert s3.objects() == files
    # Older than the sweep's grace period: the beat job picks it up once the store is back.
    Document.objects.filter(pk=receipt.pk).update(
        created_at=receipt.created_at - dt.timedelta(hours=1)
    )
    assert documents_sweep() >= 1
    receipt.refresh_from_db()
    assert receipt.status == DocumentStatus.RENDERED
    assert receipt.file.name in s3.objects()
    assert hashlib.sha256(s3.body(receipt.file.name)).hexdigest() == receipt.sha256


def test_a_failing_disk_is_the_same_message_as_a_failing_bucket(settings, tmp_path, walk, citizen):
    """The filesystem storage fails as an OSError too (here: its directory is a file)."""
    from django.core.exceptions import ValidationError

    from workflows.services.dossiers import STORAGE_DOWN

    dossier = walk(Status.DRAFT)
    before = dossier.components.first()
    blocked = tmp_path / "not-a-directory"
    blocked.write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "workflows.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        },
    }
    upload = SimpleUploadedFile("new.pdf", minimal_pdf() + b"\n% other\n", "application/pdf")
    with pytest.raises(ValidationError) as info:
        services.dossier_attach_component(
            dossier=dossier, by=citizen, component_code=before.component_code, upload=upload
        )
    assert info.value.message_dict == {before.component_code: [str(STORAGE_DOWN)]}
    current = dossier.components.get(component_code=before.component_code, superseded_at=None)
    assert current.pk == before.pk


def test_the_readiness_probe_asks_the_bucket_read_only(s3, db):
    from asgiref.sync import async_to_sync

    from config.health import Storage

    def probe():
        return async_to_sync(Storage().get_result)().error

    assert probe() is None
    assert s3.objects() == []  # nothing written, so no versions pile up
    with s3.down():
        error = probe()
    assert error is not None and "storage unavailable" in str(error.message)
    assert probe() is None
