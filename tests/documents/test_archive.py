"""The archive package: checked here from the ZIP alone (every member's SHA-256, the history's
hash chain recomputed without motcua's code, the papers as PDF/A-3b with their signed
originals intact)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from documents.models import Document, Kind
from documents.services import result_sign
from documents.verification import verify_pdf
from tests.conftest import SIGNER_PASSWORD, give_certificate
from workflows.models import Status
from workflows.services import dossiers as transitions
from workflows.services.retention import erase_due, retention_run


@pytest.fixture
def issued_signed(walk, signing, officers, django_capture_on_commit_callbacks):
    """An issued dossier whose result carries the official's signature and the seal."""
    give_certificate(signing, officers["signer"])
    with django_capture_on_commit_callbacks(execute=True):
        dossier = walk(Status.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        result_sign(dossier=dossier, by=officers["signer"], password=SIGNER_PASSWORD, seal=True)
        dossier = transitions.dossier_sign(dossier=dossier, by=officers["signer"])
        dossier = transitions.dossier_issue(dossier=dossier)
    return dossier


def archive(dossier, tmp_path) -> zipfile.ZipFile:
    out = tmp_path / "archive.zip"
    call_command("archive_dossier", dossier.code.lower(), "--out", str(out))
    return zipfile.ZipFile(io.BytesIO(out.read_bytes()))


def entry_hash(entry: dict) -> str:
    """The chain's hash as history.json's hash_method states it, written here anew."""
    content = {
        key: entry[key]
        for key in ("dossier", "seq", "at", "actor", "action", "from", "to", "comment", "data")
    }
    content["prev"] = entry["prev"]
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain_problem(history: dict) -> str | None:
    prev = ""
    for number, entry in enumerate(history["entries"], start=1):
        if entry["seq"] != number:
            return f"entry {number} missing"
        if entry["prev"] != prev:
            return f"entry {number}: broken link"
        if entry_hash(entry) != entry["hash"]:
            return f"entry {number}: content does not match its hash"
        prev = entry["hash"]
    head = history["head"]
    if head != {"count": len(history["entries"]), "hash": prev}:
        return "head is not the chain's last entry"
    return None


def check_manifest(package: zipfile.ZipFile) -> dict:
    manifest = json.loads(package.read("manifest.json"))
    listed = {m["path"]: m for m in manifest["members"]}
    assert set(package.namelist()) == set(listed) | {"manifest.json"}
    for path, member in listed.items():
        data = package.read(path)
        assert len(data) == member["size"], path
        assert hashlib.sha256(data).hexdigest() == member["sha256"], path
    return manifest


def test_the_package_holds_everything_and_checks_from_itself(issued_signed, tmp_path):
    dossier = issued_signed
    package = archive(dossier, tmp_path)
    manifest = check_manifest(package)
    assert manifest["format"] == "motcua.archive.v1"
    assert manifest["dossier"] == dossier.code and manifest["history_verified"] is True

    history = json.loads(package.read("history.json"))
    assert chain_problem(history) is None
    assert manifest["history_head"] == history["head"]
    assert history["head"] == {"count": dossier.history_count, "hash": dossier.history_hash}
    assert [e["action"] for e in history["entries"]][-1] == "issue"
    # The checker can fail: one changed comment, or one entry dropped, breaks the chain.
    edited = json.loads(package.read("history.json"))
    edited["entries"][2]["comment"] = "rewritten"
    assert "does not match its hash" in chain_problem(edited)
    cut = json.loads(package.read("history.json"))
    del cut["entries"][3]
    assert chain_problem(cut) is not None

    facts = json.loads(package.read("dossier.json"))
    assert facts["code"] == dossier.code and facts["procedure"]["retention_years"] == 10
    assert facts["applicant"]["name"] == dossier.applicant_name
    components = list(dossier.components.order_by("uploaded_at", "pk"))
    assert len(facts["components"]) == len(components)
    for row, component in zip(facts["components"], components, strict=True):
        assert row["sha256"] == component.sha256
        assert hashlib.sha256(package.read(row["path"])).hexdigest() == component.sha256

    papers = list(Document.objects.filter(dossier=dossier).order_by("created_at", "pk"))
    assert {p.kind for p in papers} >= {Kind.RECEIPT, Kind.RESULT, Kind.CONTROL_SHEET}
    for row, document in zip(facts["papers"], papers, strict=True):
        original = package.read(row["original"])
        assert hashlib.sha256(original).hexdigest() == document.sha256 == row["sha256"]
        pdfa = PdfReader(io.BytesIO(package.read(row["pdfa"])))
        xmp = pdfa.xmp_metadata.stream.get_data().decode("utf-8")
        assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp, row["pdfa"]
        assert "/OutputIntents" in pdfa.trailer["/Root"]
        assert "/AF" in pdfa.trailer["/Root"]
        # The original rides inside the PDF/A as its source file, byte for byte.
        (attached,) = pdfa.attachments.values()
        assert attached == [original]
        text = " ".join(page.extract_text() or "" for page in pdfa.pages)
        assert dossier.code in " ".join(text.split())
        if document.kind == Kind.RESULT:
            # The signed original's two signatures still verify from the package.
            report = verify_pdf(original)
            assert report.ok and len(report.signatures) == 2


def test_a_package_after_erasure_lists_the_files_it_no_longer_has(
    issued_signed, tmp_path, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(erase_due(issued_signed) + dt.timedelta(days=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert retention_run()["dossiers_erased"] == 1
    issued_signed.refresh_from_db()
    package = archive(issued_signed, tmp_path)
    manifest = check_manifest(package)
    assert manifest["history_verified"] is True
    assert not [n for n in package.namelist() if n.startswith(("components/", "papers/"))]
    facts = json.loads(package.read("dossier.json"))
    assert facts["components"] and all(
        row["path"] is None and row["erased_at"] and len(row["sha256"]) == 64
        for row in facts["components"]
    )
    assert all(row["original"] is None and row["erased_at"] for row in facts["papers"])
    history = json.loads(package.read("history.json"))
    assert chain_problem(history) is None
    assert history["entries"][-1]["action"] == "erase_files"


def test_a_corrupted_file_stops_the_package(issued_signed, tmp_path):
    component = issued_signed.components.first()
    with component.file.storage.open(component.file.name, "wb") as handle:
        handle.write(b"%PDF-1.4 not what was filed")
    with pytest.raises(CommandError, match="do not match the recorded SHA-256"):
        archive(issued_signed, tmp_path)
    assert not (tmp_path / "archive.zip").exists()


def test_an_unknown_code_is_an_error(db, tmp_path):
    with pytest.raises(CommandError, match="no dossier"):
        call_command("archive_dossier", "NOPE-1", "--out", str(tmp_path / "x.zip"))


def test_a_dossier_refused_at_the_desk_is_archived_by_its_reference(walk, tmp_path):
    """Refused at the desk, a dossier never gets a code: ``#pk`` names it, as on its pages."""
    dossier = walk(Status.REJECTED_AT_RECEPTION)
    assert dossier.code is None or dossier.code == ""
    out = tmp_path / "refused.zip"
    call_command("archive_dossier", f" #{dossier.pk} ", "--out", str(out))
    package = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    manifest = json.loads(package.read("manifest.json"))
    facts = json.loads(package.read("dossier.json"))
    assert manifest["reference"] == facts["reference"] == f"#{dossier.pk}"
    assert facts["status"] == Status.REJECTED_AT_RECEPTION
    # A number that names nothing, or is not a number, is a clear error.
    for wrong in (f"#{dossier.pk + 1000}", "#", "#abc", "#" + "9" * 40, ""):
        with pytest.raises(CommandError, match="no dossier"):
            call_command("archive_dossier", wrong, "--out", str(tmp_path / "x.zip"))
