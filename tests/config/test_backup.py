"""Backup and restore: a signed dossier, backed up by the real command, restored into an
empty, different database and storage by another process; its history verifies there and
its signed result still validates. A damaged archive is refused before anything is touched.

The round trip runs on SQLite (the embedded default) in the SQLite pass and on PostgreSQL,
with the owner and the application's role of the README, in the PostgreSQL pass."""

# ruff: noqa: S608 - table names in the SQL come from the models

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from config.backup import MANIFEST, seal_manifest, walk_storage
from documents.models import Document
from documents.services import result_sign
from documents.verification import verify_pdf
from procedures.models import Agency
from tests.conftest import SEAL_PASSWORD, SIGNER_PASSWORD, give_certificate, walk_to
from workflows.models import HistoryEntry, HistorySeal, Status
from workflows.services import dossiers as transitions
from workflows.services.sealing import history_seal_all

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = "components/2026/kept.txt"


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """manage.py in its own process, with only the environment given (and no broker)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "DATABASE_URL",
            "DATABASE_MIGRATE_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "DEBUG",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
        and not key.startswith(("MOTCUA_", "PG"))
    }
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def media(settings, tmp_path):
    """The media root (the "default" storage) in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return storages["default"]


def _signed_dossier(procedure, province, citizen, officers, signing, capture):
    with capture(execute=True):
        dossier = walk_to(Status.APPROVED, procedure, province, citizen, officers)
    give_certificate(signing, officers["signer"])
    with capture(execute=True):
        document = result_sign(
            dossier=dossier, by=officers["signer"], password=SIGNER_PASSWORD, seal=True
        )
        transitions.dossier_sign(dossier=dossier, by=officers["signer"])
        transitions.dossier_issue(dossier=dossier)
    assert history_seal_all() >= 1
    document.refresh_from_db()
    assert verify_pdf(storages["private"].open(document.file.name).read()).ok
    return dossier, document


def _restored_env(tmp_path: Path, signing) -> dict[str, str]:
    """A different machine's settings: its own var/, storage roots and database."""
    return {
        "MOTCUA_VAR_DIR": str(tmp_path / "restored-var"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "restored-private"),
        "MEDIA_ROOT": str(tmp_path / "restored-media"),
        "MOTCUA_TRUST_ROOTS": str(signing["root"] / "ca.pem"),
        "MOTCUA_SEAL_DIR": str(signing["root"] / "seals"),
        "MOTCUA_SEAL_PASSWORD": SEAL_PASSWORD,
    }


def _check_restored(tmp_path, env, query, document, dossier):
    """verify_history passes against the restored database, and the signed result read
    back from the restored storage validates and is the one the restored database names."""
    history = run_manage("verify_history", "--all", env=env)
    assert history.returncode == 0, history.stdout + history.stderr
    seals = HistorySeal.objects.count()
    assert f"and {seals} seal(s)" in history.stdout

    (name, sha256), *_ = query(
        f"SELECT file, sha256 FROM {Document._meta.db_table} WHERE id = {document.pk}"
    )
    assert (name, sha256) == (document.file.name, document.sha256)
    (entries,), *_ = query(
        f"SELECT count(*) FROM {HistoryEntry._meta.db_table} WHERE dossier_id = {dossier.pk}"
    )
    assert entries == HistoryEntry.objects.filter(dossier=dossier).count() > 5

    restored = FileSystemStorage(location=env["PRIVATE_MEDIA_ROOT"])
    with restored.open(name, "rb") as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == sha256
    report = verify_pdf(data)
    assert report.ok, report
    assert [s.intact and s.trusted and not s.changed_after for s in report.signatures] == [
        True,
        True,
    ]
    with FileSystemStorage(location=env["MEDIA_ROOT"]).open("logo.txt") as handle:
        assert handle.read() == b"media root file"


@pytest.mark.django_db(transaction=True)
def test_a_sqlite_backup_restores_into_an_empty_database(
    procedure, province, citizen, officers, signing, media, tmp_path,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default's round trip (SQLite)")
    dossier, document = _signed_dossier(
        procedure, province, citizen, officers, signing, django_capture_on_commit_callbacks
    )
    media.save("logo.txt", ContentFile(b"media root file"))
    archive = tmp_path / "out" / "motcua.tar"
    call_command("backup", str(archive), stdout=io.StringIO())

    target = tmp_path / "restored.sqlite3"
    env = {**_restored_env(tmp_path, signing), "DATABASE_URL": f"sqlite:///{target}"}
    result = run_manage("restore", str(archive), env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    def query(sql):
        with sqlite3.connect(target) as db:
            return db.execute(sql).fetchall()

    _check_restored(tmp_path, env, query, document, dossier)
    # Restoring again over the restored database is refused without --force.
    again = run_manage("restore", str(archive), env=env)
    assert again.returncode == 1 and "not empty" in again.stderr


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_postgresql_backup_restores_into_an_empty_database_with_two_roles(
    procedure, province, citizen, officers, signing, media, tmp_path,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """Into a new database owned by its own owner role, as the README's production steps
    make it: pg_restore as the owner (DATABASE_MIGRATE_URL), then grant_app_role for the
    application's role, which then verifies the history and still cannot rewrite it."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    import psycopg

    dossier, document = _signed_dossier(
        procedure, province, citizen, officers, signing, django_capture_on_commit_callbacks
    )
    media.save("logo.txt", ContentFile(b"media root file"))
    archive = tmp_path / "motcua.tar.gz"
    out = io.StringIO()
    call_command("backup", str(archive), "--gzip", stdout=out)
    private = sum(1 for _ in walk_storage(storages["private"]))
    assert private >= 2  # the components and the papers
    assert f"postgresql database, {private + 1} file(s)" in out.getvalue()
    with tarfile.open(archive) as tar:
        assert tar.getnames()[0] == "db.dump" and tar.getnames()[-1] == MANIFEST

    found = connection.settings_dict
    host, port = found["HOST"] or "127.0.0.1", found["PORT"] or "5432"
    token = secrets.token_hex(4)
    name = f"{found['NAME'].removeprefix('test_')}_restore_{token}"
    owner, app = f"h_backup_owner_{token}", f"h_backup_app_{token}"
    owner_password, app_password = secrets.token_hex(12), secrets.token_hex(12)

    def admin(dbname=found["NAME"]):
        return psycopg.connect(
            dbname=dbname,
            host=host,
            port=port,
            user=found["USER"],
            password=found["PASSWORD"] or None,
            autocommit=True,
        )

    with admin() as db:
        db.execute(f"CREATE ROLE {owner} LOGIN PASSWORD '{owner_password}'")
        db.execute(f"CREATE ROLE {app} LOGIN PASSWORD '{app_password}'")
        db.execute(f"CREATE DATABASE {name} OWNER {owner}")
    try:
        with admin(name) as db:
            db.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
            db.execute(f"ALTER SCHEMA public OWNER TO {owner}")
            db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        app_url = f"postgres://{app}:{app_password}@{host}:{port}/{name}"
        owner_url = f"postgres://{owner}:{owner_password}@{host}:{port}/{name}"
        env = {**_restored_env(tmp_path, signing), "DATABASE_URL": app_url}

        result = run_manage("restore", str(archive), env={**env, "DATABASE_MIGRATE_URL": owner_url})
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"grant_app_role {app}: done" in result.stdout

        def query(sql):
            with psycopg.connect(app_url) as db:
                return db.execute(sql).fetchall()

        # As the application's role: the history verifies, the result validates.
        _check_restored(tmp_path, env, query, document, dossier)

        entries = HistoryEntry._meta.db_table
        with psycopg.connect(app_url, autocommit=True) as db:
            for statement in (f"UPDATE {entries} SET seq = seq", f"TRUNCATE {entries}"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    db.execute(statement)
            (tables,) = db.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tableowner = current_user"
            ).fetchone()
            assert tables == 0
        # The owner owns the restored tables, and the triggers came back with them.
        with psycopg.connect(owner_url, autocommit=True) as db:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never truncated"):
                db.execute(f"TRUNCATE {entries}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="never updated"):
                db.execute(f"DELETE FROM {entries}")
    finally:
        with admin() as db:
            db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            db.execute(f"DROP ROLE IF EXISTS {app}")
            db.execute(f"DROP ROLE IF EXISTS {owner}")


# --- Damaged archives ------------------------------------------------------------------------


@pytest.fixture
def archive(transactional_db, catalog, media, tmp_path):
    """A real backup (the committed database, and a file in each storage)."""
    storages["private"].save(COMPONENT, ContentFile(b"a citizen's scanned paper"))
    media.save("logo.txt", ContentFile(b"media root file"))
    path = tmp_path / "good.tar"
    call_command("backup", str(path), stdout=io.StringIO())
    return path


def _members(path: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(path) as tar:
        return [(info, tar.extractfile(info).read() if info.isfile() else b"") for info in tar]


def _write(path: Path, members) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _with_listed_member(good: Path, out: Path, name: str, data: bytes) -> Path:
    """``name`` added and listed in a re-sealed manifest, so that only its name is wrong."""
    members = _members(good)
    manifest = json.loads(members[-1][1])
    manifest["members"].append(
        {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    )
    sealed = json.dumps(seal_manifest(manifest)).encode()
    return _write(out, [*members[:-1], _file(name, data), _file(MANIFEST, sealed)])


def _flip(good: Path, out: Path, member: str) -> Path:
    with tarfile.open(good) as tar:
        info = tar.getmember(member)
    data = bytearray(good.read_bytes())
    data[info.offset_data + info.size // 2] ^= 0x01
    out.write_bytes(bytes(data))
    return out


def _damage(kind: str, good: Path, out: Path) -> Path:
    if kind == "truncated":
        out.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "flipped byte in the database":
        _flip(good, out, connection.vendor == "sqlite" and "db.sqlite3" or "db.dump")
    elif kind == "flipped byte in a file":
        _flip(good, out, f"files/private/{COMPONENT}")
    elif kind == "altered manifest":
        raw = good.read_bytes()
        assert b'"created_at": "20' in raw
        out.write_bytes(raw.replace(b'"created_at": "20', b'"created_at": "19', 1))
    elif kind == "missing member":
        _write(out, [m for m in _members(good) if m[0].name != f"files/private/{COMPONENT}"])
    elif kind == "extra unlisted member":
        members = _members(good)
        _write(out, [*members[:-1], _file("files/private/extra.pdf", b"%PDF"), members[-1]])
    elif kind == "no manifest":
        _write(out, _members(good)[:-1])
    elif kind == "parent path":
        _with_listed_member(good, out, "files/private/../../escaped.txt", b"escaped")
    elif kind == "leading parent path":
        _with_listed_member(good, out, "../escaped.txt", b"escaped")
    elif kind == "absolute path":
        _with_listed_member(good, out, str(out.parent / "escaped.txt"), b"escaped")
    elif kind == "symbolic link":
        members = _members(good)
        link = tarfile.TarInfo("files/private/link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        _write(out, [*members[:-1], (link, b""), members[-1]])
    elif kind == "not a tar":
        out.write_bytes(b"\x00garbage" * 1000)
    return out


DAMAGES = [
    ("truncated", "truncated|cannot be read|no manifest"),
    ("flipped byte in the database", "SHA-256 differs"),
    ("flipped byte in a file", "SHA-256 differs"),
    ("altered manifest", "own checksum"),
    ("missing member", "missing: files/private/components"),
    ("extra unlisted member", "not listed in the manifest: files/private/extra.pdf"),
    ("no manifest", "no manifest.json"),
    ("parent path", "unsafe member name"),
    ("leading parent path", "unsafe member name"),
    ("absolute path", "unsafe member name"),
    ("symbolic link", "not a regular file"),
    ("not a tar", "cannot be read"),
]


@pytest.mark.parametrize(("kind", "message"), DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_archive_is_refused_before_anything_is_touched(archive, tmp_path, kind, message):
    damaged = _damage(kind, archive, tmp_path / "damaged.tar")
    agencies = Agency.objects.count()
    # Even with --force, which would replace a database that is not empty.
    with pytest.raises(CommandError, match=rf"damaged, nothing was restored: .*({message})"):
        call_command("restore", str(damaged), "--force", stdout=io.StringIO())
    with pytest.raises(CommandError, match=message):
        call_command("restore", str(damaged), "--check", stdout=io.StringIO())
    assert Agency.objects.count() == agencies > 0
    assert storages["private"].open(COMPONENT).read() == b"a citizen's scanned paper"
    assert (
        not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
    )


def test_restore_exits_non_zero_with_a_message_on_a_damaged_archive(archive, tmp_path):
    damaged = _damage("flipped byte in a file", archive, tmp_path / "damaged.tar")
    result = run_manage(
        "restore", str(damaged), env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                                      "MOTCUA_VAR_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    assert result.returncode == 1
    assert "the archive is damaged, nothing was restored" in result.stderr
    assert f"files/private/{COMPONENT}" in result.stderr
    # The empty database stayed empty: restore never touched it.
    with sqlite3.connect(tmp_path / "empty.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_a_good_archive_checks_and_lists_every_member(archive):
    out = io.StringIO()
    call_command("restore", str(archive), "--check", stdout=out)
    assert "archive intact" in out.getvalue()
    names = [info.name for info, _ in _members(archive)]
    assert names[0] in ("db.sqlite3", "db.dump") and names[-1] == MANIFEST
    assert f"files/private/{COMPONENT}" in names and "files/default/logo.txt" in names
    manifest = json.loads(_members(archive)[-1][1])
    assert manifest["database"]["vendor"] == connection.vendor
    assert "workflows.0015_history_seals" in manifest["migrations"]
    assert {m["name"] for m in manifest["members"]} == set(names[:-1])
    assert not any(name.startswith("pki/") for name in names)  # secrets only when asked


def test_restore_refuses_a_database_that_is_not_empty(archive):
    with pytest.raises(CommandError, match="the database is not empty.*--force"):
        call_command("restore", str(archive), stdout=io.StringIO())
    assert storages["private"].open(COMPONENT).read() == b"a citizen's scanned paper"


def test_backup_refuses_to_overwrite_and_leaves_nothing_partial(archive, tmp_path):
    before = archive.read_bytes()
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(archive), stdout=io.StringIO())
    assert archive.read_bytes() == before
    # A file that cannot be read (a dangling link in the storage) fails the backup, and
    # no archive, complete or partial, is left behind.
    os.symlink(tmp_path / "nowhere", Path(storages["private"].path("components/dangling")))
    out = tmp_path / "failed"
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("backup", str(out / "motcua.tar"), stdout=io.StringIO())
    assert list(out.iterdir()) == []


def test_the_pki_is_archived_only_when_asked(
    transactional_db, catalog, media, settings, signing, tmp_path
):
    settings.VAR_DIR = tmp_path / "var"
    (settings.VAR_DIR / "pki").mkdir(parents=True)
    (settings.VAR_DIR / "pki" / "ca.pem").write_bytes((signing["root"] / "ca.pem").read_bytes())
    out = io.StringIO()
    call_command("backup", "--gzip", "--include-pki", stdout=out)
    (written,) = (settings.VAR_DIR / "backups").iterdir()
    assert written.name.endswith(".tar.gz") and str(written) in out.getvalue()
    names = [info.name for info, _ in _members(written)]
    assert "pki/var/ca.pem" in names
    assert {f"pki/seals/{code}.p12" for code in ("G16", "H22", "H23")} <= set(names)
    call_command("restore", str(written), "--check", stdout=io.StringIO())


def test_a_file_deleted_while_the_backup_runs_is_noted_not_fatal(
    transactional_db, catalog, media, tmp_path, monkeypatch
):
    """The retention job or a replaced upload may delete a file between the listing and
    the reading: the backup goes on and its manifest names the file as vanished."""
    from config import backup

    listed = backup.walk_storage

    def with_a_ghost(storage):
        yield from listed(storage)
        yield "components/2026/11/deleted-meanwhile.pdf"

    monkeypatch.setattr(backup, "walk_storage", with_a_ghost)
    out = tmp_path / "motcua.tar"
    call_command("backup", str(out), stdout=io.StringIO())
    with tarfile.open(out) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert "files/private/components/2026/11/deleted-meanwhile.pdf" in manifest["vanished"]
    call_command("restore", str(out), "--check", stdout=io.StringIO())
