"""Backup and restore: the database and the files as one archive, with a manifest of
SHA-256 checksums (``manage.py backup`` and ``manage.py restore``; README, "Backup and
restore").

The archive is a tar (gzip-compressed with ``--gzip``) of regular files only:

``db.dump``                  PostgreSQL: ``pg_dump --format=custom``, without owners or grants
``db.sqlite3``               SQLite: a consistent online copy by SQLite's backup API
``files/<storage>/<name>``   every file of the ``private`` and ``default`` storages, read and
                             written through Django's storage API, so S3 works as files do
``pki/var/...``, ``pki/seals/...``  only with ``--include-pki`` (secrets: off by default)
``manifest.json``            last: versions, migrations, the database's vendor, the time, and
                             each member's size and SHA-256, with a checksum of itself

The database is dumped first and the files after it, so every file the dump refers to is
in the archive (a file uploaded meanwhile is an orphan, which is harmless). ``restore``
reads the whole archive and checks the manifest and every checksum before it touches the
database or the storage, and refuses a non-empty database or storage unless forced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import storages
from django.db import connections

from config.dbroles import CREDENTIALS, as_owner, owner_settings

FORMAT = "motcua-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PG_MEMBER = "db.dump"
SQLITE_MEMBER = "db.sqlite3"
# The storages that hold state: dossier components and documents, and the media root.
# "staticfiles" is rebuilt by collectstatic and is not backed up.
STORAGE_ALIASES = ("private", "default")
PKI_PREFIXES = ("pki/var", "pki/seals")
CHUNK = 1024 * 1024
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
ALIAS = "default"


class BackupError(Exception):
    """The backup or the restore cannot go on; the message says why."""


class DamagedArchive(BackupError):
    """The archive is not what its manifest says: nothing was restored."""


@dataclass
class Member:
    name: str
    size: int
    sha256: str


@dataclass
class Written:
    path: Path
    size: int
    sha256: str
    manifest: dict
    members: list[Member] = field(default_factory=list)


class _Hashing:
    """A read-only file wrapper that hashes and counts what passes through it."""

    def __init__(self, raw):
        self.raw = raw
        self._reset()

    def _reset(self):
        self.digest = hashlib.sha256()
        self.size = 0
        self.whole = True

    def read(self, size=-1):
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        position = self.raw.seek(offset, whence)
        if position == 0:
            self._reset()  # a backend that reads twice from the start (S3 does) hashes once
        else:
            self.whole = False
        return position

    def tell(self):
        return self.raw.tell()

    def hexdigest(self) -> str:
        return self.digest.hexdigest() if self.whole else ""


# --- Names ---------------------------------------------------------------------------------


def check_member_name(name: str) -> None:
    """Refuse what could land outside its place: absolute paths, ``..``, backslashes,
    empty parts, and any member that is not one of the archive's kinds."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or re.match(r"^[A-Za-z]:", name)
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise DamagedArchive(f"unsafe member name {name!r}")
    if name in (MANIFEST, PG_MEMBER, SQLITE_MEMBER):
        return
    if len(parts) >= 3 and parts[0] == "files" and parts[1] in STORAGE_ALIASES:
        return
    if len(parts) >= 3 and "/".join(parts[:2]) in PKI_PREFIXES:
        return
    raise DamagedArchive(f"unexpected member {name!r}")


def _storage_member(alias: str, name: str) -> str:
    member = f"files/{alias}/{name}"
    try:
        check_member_name(member)
    except DamagedArchive as exc:
        raise BackupError(f"storage {alias!r} holds a file with an unsafe name: {name!r}") from exc
    return member


# --- Manifest ------------------------------------------------------------------------------


def _canonical(manifest: dict) -> bytes:
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal_manifest(manifest: dict) -> dict:
    """The manifest with its own checksum, so that a changed byte anywhere in it shows."""
    return {**manifest, "checksum": hashlib.sha256(_canonical(manifest)).hexdigest()}


def parse_manifest(data: bytes) -> dict:
    try:
        manifest = json.loads(data.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedArchive(f"{MANIFEST} is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DamagedArchive(f"{MANIFEST} is not a motcua backup manifest")
    if manifest.get("checksum") != hashlib.sha256(_canonical(manifest)).hexdigest():
        raise DamagedArchive(f"{MANIFEST} does not match its own checksum (altered)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"archive format version {manifest.get('format_version')} is not {FORMAT_VERSION}: "
            "restore it with the motcua version that wrote it"
        )
    members = manifest.get("members")
    if not isinstance(members, list) or not all(
        isinstance(m, dict)
        and isinstance(m.get("name"), str)
        and isinstance(m.get("size"), int)
        and isinstance(m.get("sha256"), str)
        for m in members
    ):
        raise DamagedArchive(f"{MANIFEST} lists its members wrongly")
    database = manifest.get("database")
    if not isinstance(database, dict) or database.get("member") not in (PG_MEMBER, SQLITE_MEMBER):
        raise DamagedArchive(f"{MANIFEST} names no database member")
    return manifest


def _git_commit() -> str | None:
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "-C", str(settings.BASE_DIR), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else None


def _motcua_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("motcua")
    except PackageNotFoundError:
        return None


def applied_migrations(alias: str = ALIAS) -> list[str]:
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connections[alias])
    return sorted(f"{app}.{name}" for app, name in recorder.applied_migrations())


def known_migrations() -> set[str]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


# --- PostgreSQL tools ----------------------------------------------------------------------


def _pg_settings(*, owner: bool) -> dict:
    """The default connection's settings; with ``owner``, DATABASE_MIGRATE_URL's
    credentials (the tables' owner) on the same database, as config.dbroles does."""
    found = dict(connections[ALIAS].settings_dict)
    migrate = owner_settings() if owner else None
    if migrate:
        found.update({key: migrate.get(key, "") for key in CREDENTIALS})
    return found


def _pg_command_line(found: dict) -> tuple[list[str], dict]:
    """libpq arguments and environment: the password travels in the environment, never
    on the command line (where ps would show it)."""
    args = ["--dbname", str(found["NAME"])]
    if found.get("HOST"):
        args += ["--host", str(found["HOST"])]
    if found.get("PORT"):
        args += ["--port", str(found["PORT"])]
    if found.get("USER"):
        args += ["--username", str(found["USER"])]
    environment = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    environment.pop("PGPASSWORD", None)
    if found.get("PASSWORD"):
        environment["PGPASSWORD"] = str(found["PASSWORD"])
    options = found.get("OPTIONS") or {}
    for key, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
    ):
        if options.get(key):
            environment[variable] = str(options[key])
    return args, environment


def server_major(alias: str = ALIAS) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return int(cursor.fetchone()[0]) // 10000


def _tool_major(path: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL tool found by pg_tool
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\)\s+(\d+)", out)
    return int(match.group(1)) if match else None


def pg_tool(name: str, major: int, bin_dir: str | None = None) -> Path:
    """``pg_dump`` or ``pg_restore`` of the server's major version: from ``bin_dir``,
    Debian's ``/usr/lib/postgresql/<major>/bin``, then PATH. A newer one is accepted
    (pg_dump reads older servers); an older one is not."""
    candidates = []
    if bin_dir:
        candidates.append(Path(bin_dir) / name)
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/{name}"))
    if found := shutil.which(name):
        candidates.append(Path(found))
    newer, seen = None, []
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        version = _tool_major(candidate)
        seen.append(f"{candidate} ({version})")
        if version == major:
            return candidate
        if version is not None and version > major and newer is None:
            newer = candidate
    if newer is not None:
        return newer
    raise BackupError(
        f"{name} for PostgreSQL {major} was not found"
        + (f" (found only {', '.join(seen)})" if seen else "")
        + f": install postgresql-client-{major}, or name its directory with --pg-bin"
    )


def _run(args: list, environment: dict, what: str) -> None:
    # pg_dump/pg_restore with arguments from settings; no shell.
    result = subprocess.run(  # noqa: S603
        args, env=environment, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{what} failed (exit {result.returncode}): {detail[-2000:]}")


# --- Writing -------------------------------------------------------------------------------


def _add_stream(tar: tarfile.TarFile, members: list[Member], name: str, handle, size: int):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
    hashing = _Hashing(handle)
    try:
        tar.addfile(info, hashing)
    except OSError as exc:  # the file shrank meanwhile ("unexpected end of data"), a full disk
        raise BackupError(f"{name} could not be archived: {exc}") from exc
    if hashing.size != size:
        raise BackupError(f"{name}: read {hashing.size} bytes, expected {size}")
    members.append(Member(name, size, hashing.hexdigest()))


def _add_path(tar, members, name: str, path: Path) -> None:
    with open(path, "rb") as handle:
        _add_stream(tar, members, name, handle, os.fstat(handle.fileno()).st_size)


def walk_storage(storage, path: str = "") -> Iterator[str]:
    """Every file name in a storage, through its listdir (file system and S3 alike)."""
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{path}/{name}" if path else name
    for directory in sorted(directories):
        yield from walk_storage(storage, f"{path}/{directory}" if path else directory)


def pki_sources() -> list[tuple[str, Path]]:
    """Where the signing secrets live: ``var/pki`` (make_dev_pki's CA and key, the demo
    signer) and the seal directory, when it is not inside it."""
    var_pki = Path(settings.VAR_DIR) / "pki"
    seal_dir = Path(settings.MOTCUA["DOCUMENTS"]["SEAL_DIR"])
    sources = [("pki/var", var_pki)]
    if not seal_dir.resolve().is_relative_to(var_pki.resolve()):
        sources.append(("pki/seals", seal_dir))
    return sources


def _walk_directory(root: Path) -> Iterator[tuple[str, Path]]:
    if not root.is_dir():
        return
    for directory, subdirectories, files in os.walk(root):
        subdirectories.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(root).as_posix(), path


def _dump_postgresql(scratch: Path, bin_dir: str | None) -> tuple[Path, dict]:
    found = _pg_settings(owner=False)
    major = server_major()
    tool = pg_tool("pg_dump", major, bin_dir)
    args, environment = _pg_command_line(found)
    target = scratch / PG_MEMBER
    # Owners and grants stay out: the restoring role owns what it restores, and
    # grant_app_role gives the application's role its rights again (README).
    _run(
        [str(tool), "--format=custom", "--no-owner", "--no-privileges", "--file", str(target)]
        + args,
        environment,
        "pg_dump",
    )
    return target, {
        "vendor": "postgresql",
        "member": PG_MEMBER,
        "server_major": major,
        "tool": f"{tool.name} {_tool_major(tool)}",
    }


def _dump_sqlite(scratch: Path) -> tuple[Path, dict]:
    connection = connections[ALIAS]
    connection.ensure_connection()
    target = scratch / SQLITE_MEMBER
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)  # a consistent copy while others keep writing
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
    finally:
        copy.close()
    return target, {"vendor": "sqlite", "member": SQLITE_MEMBER, "sqlite": sqlite3.sqlite_version}


def write_backup(
    path: Path,
    *,
    compress: bool = False,
    files: bool = True,
    include_pki: bool = False,
    bin_dir: str | None = None,
) -> Written:
    """Write the archive under a temporary name beside ``path`` and rename it when it is
    complete: a failure never leaves a partial archive under the final name."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists: choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    vendor = connections[ALIAS].vendor
    if connections[ALIAS].in_atomic_block:
        # pg_dump would not see what the transaction wrote, and SQLite's backup would wait
        # for it forever.
        raise BackupError("a backup cannot run inside a transaction")
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups of a {vendor} database are not supported")
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    members: list[Member] = []
    try:
        with (
            tempfile.TemporaryDirectory(dir=path.parent, prefix=".backup-") as scratch,
            os.fdopen(fd, "wb") as raw,
        ):
            with tarfile.open(
                fileobj=raw, mode="w:gz" if compress else "w", format=tarfile.PAX_FORMAT
            ) as tar:
                migrations = applied_migrations()
                if vendor == "postgresql":
                    dump, database = _dump_postgresql(Path(scratch), bin_dir)
                else:
                    dump, database = _dump_sqlite(Path(scratch))
                _add_path(tar, members, database["member"], dump)
                dump.unlink()
                backed_up, vanished = [], []
                if files:
                    for alias in STORAGE_ALIASES:
                        storage = storages[alias]
                        backed_up.append(alias)
                        for name in walk_storage(storage):
                            member = _storage_member(alias, name)
                            try:
                                with storage.open(name, "rb") as handle:
                                    _add_stream(tar, members, member, handle, storage.size(name))
                            except FileNotFoundError as exc:
                                if storage.exists(name):  # there, but unreadable
                                    raise BackupError(f"{member} cannot be read: {exc}") from exc
                                # Deleted since it was listed (the retention job, a replaced
                                # upload): the database dumped before no longer needs it, or
                                # its row records its erasure.
                                vanished.append(member)
                            except OSError as exc:
                                raise BackupError(f"{member} cannot be read: {exc}") from exc
                pki = []
                if include_pki:
                    for prefix, root in pki_sources():
                        for relative, source in _walk_directory(root):
                            _add_path(tar, members, f"{prefix}/{relative}", source)
                        pki.append(prefix)
                manifest = seal_manifest(
                    {
                        "format": FORMAT,
                        "format_version": FORMAT_VERSION,
                        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "motcua_version": _motcua_version(),
                        "git_commit": _git_commit(),
                        "database": database,
                        "migrations": migrations,
                        "storages": backed_up,
                        "vanished": vanished,
                        "pki": pki,
                        "members": [vars(member) for member in members],
                    }
                )
                data = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode = len(data), 0o600
                info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
                tar.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(partial)
        raise
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return Written(path, path.stat().st_size, digest.hexdigest(), manifest, members)


# --- Verifying -----------------------------------------------------------------------------

READ_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error, ValueError)


def _hash_member(handle) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def verify_archive(path: Path) -> dict:
    """Read the whole archive once and return its manifest, or raise DamagedArchive:
    unreadable or truncated, a member that is not a regular file or has an unsafe name,
    a member listed but missing, present but unlisted, or of another size or SHA-256."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    found: dict[str, tuple[int, str]] = {}
    manifest_data = None
    try:
        with tarfile.open(path, "r:*") as tar:
            for info in tar:
                check_member_name(info.name)
                if not info.isfile():
                    raise DamagedArchive(f"{info.name}: not a regular file")
                if info.name in found or (info.name == MANIFEST and manifest_data is not None):
                    raise DamagedArchive(f"{info.name}: appears twice")
                handle = tar.extractfile(info)
                if info.name == MANIFEST:
                    if info.size > MAX_MANIFEST_BYTES:
                        raise DamagedArchive(f"{MANIFEST} is too large")
                    manifest_data = handle.read()
                else:
                    found[info.name] = _hash_member(handle)
    except DamagedArchive:
        raise
    except READ_ERRORS as exc:
        raise DamagedArchive(f"the archive cannot be read ({exc}): truncated or damaged") from exc
    if manifest_data is None:
        raise DamagedArchive(f"the archive has no {MANIFEST}: truncated or not a motcua backup")
    manifest = parse_manifest(manifest_data)
    listed = {member["name"]: member for member in manifest["members"]}
    if len(listed) != len(manifest["members"]):
        raise DamagedArchive(f"{MANIFEST} lists a member twice")
    for name in listed:
        check_member_name(name)
    if missing := sorted(set(listed) - set(found)):
        raise DamagedArchive(f"members listed in the manifest are missing: {', '.join(missing)}")
    if extra := sorted(set(found) - set(listed)):
        raise DamagedArchive(f"members not listed in the manifest: {', '.join(extra)}")
    for name, (size, sha256) in found.items():
        if size != listed[name]["size"] or sha256 != listed[name]["sha256"]:
            raise DamagedArchive(f"{name}: its size or SHA-256 differs from the manifest's")
    if manifest["database"]["member"] not in found:
        raise DamagedArchive(f"the database member {manifest['database']['member']} is missing")
    return manifest


# --- Restoring -----------------------------------------------------------------------------


@dataclass
class Restored:
    manifest: dict
    files: int = 0
    pki_files: int = 0
    granted: str | None = None
    notes: list[str] = field(default_factory=list)


def database_is_empty(alias: str = ALIAS) -> bool:
    return not connections[alias].introspection.table_names()


def _storage_is_empty(storage) -> bool:
    return next(walk_storage(storage), None) is None


def _pki_target(name: str) -> Path:
    prefix = "/".join(name.split("/")[:2])
    relative = name.split("/", 2)[2]
    roots = {
        "pki/var": Path(settings.VAR_DIR) / "pki",
        "pki/seals": Path(settings.MOTCUA["DOCUMENTS"]["SEAL_DIR"]),
    }
    root = roots[prefix]
    target = root / relative
    if not target.resolve().is_relative_to(root.resolve()):
        raise DamagedArchive(f"unsafe member name {name!r}")
    return target


def _members(path: Path, wanted) -> Iterator[tuple[tarfile.TarInfo, _Hashing]]:
    with tarfile.open(path, "r:*") as tar:
        for info in tar:
            if info.name != MANIFEST and wanted(info.name):
                yield info, _Hashing(tar.extractfile(info))


def _check_again(name: str, hashing: _Hashing, listed: dict) -> None:
    """The archive was verified as a whole first; a member that differs now was changed
    on disk in between."""
    if hashing.size != listed[name]["size"] or hashing.hexdigest() != listed[name]["sha256"]:
        raise DamagedArchive(f"{name}: changed since the archive was verified")


def _check_migrations(manifest: dict) -> list[str]:
    archived = set(manifest.get("migrations") or [])
    known = known_migrations()
    if unknown := sorted(archived - known):
        raise BackupError(
            "the archive comes from a newer motcua (migrations this code does not have: "
            f"{', '.join(unknown[:5])}): restore it with motcua {manifest.get('motcua_version')}"
            f" (commit {manifest.get('git_commit')})"
        )
    if newer := sorted(known - archived):
        return [f"this code has {len(newer)} migration(s) the archive lacks: run manage.py migrate"]
    return []


def restore_backup(
    path: Path, *, force: bool = False, files: bool = True, bin_dir: str | None = None
) -> Restored:
    path = Path(path)
    manifest = verify_archive(path)
    listed = {member["name"]: member for member in manifest["members"]}
    connection = connections[ALIAS]
    database = manifest["database"]
    if database["vendor"] != connection.vendor:
        raise BackupError(
            f"the archive holds a {database['vendor']} database; this motcua is configured "
            f"for {connection.vendor}"
        )
    result = Restored(manifest, notes=_check_migrations(manifest))
    storage_names = [alias for alias in manifest.get("storages", []) if files]
    pki_members = [name for name in listed if name.startswith("pki/")]
    # Everything that could stop the restore is checked before anything is written.
    if not force:
        with as_owner(ALIAS):  # the app's role may not even connect before grant_app_role
            empty = database_is_empty()
        if not empty:
            raise BackupError(
                "the database is not empty: restore into an empty database, or pass --force "
                "to replace what it holds"
            )
        for alias in storage_names:
            if not _storage_is_empty(storages[alias]):
                raise BackupError(
                    f"the storage {alias!r} already holds files: restore into an empty one, "
                    "or pass --force to replace them"
                )
        for name in pki_members:
            if _pki_target(name).exists():
                raise BackupError(f"{_pki_target(name)} exists: pass --force to replace it")
    for name in pki_members:
        _pki_target(name)

    with tempfile.TemporaryDirectory(prefix=".restore-", dir=path.parent) as scratch:
        dump = Path(scratch) / database["member"]
        for info, hashing in _members(path, lambda name: name == database["member"]):
            with open(dump, "wb") as out:
                while chunk := hashing.read(CHUNK):
                    out.write(chunk)
            _check_again(info.name, hashing, listed)
        if database["vendor"] == "postgresql":
            result.granted = _restore_postgresql(dump, force=force, bin_dir=bin_dir)
        else:
            _restore_sqlite(dump)

    for info, hashing in _members(path, lambda name: name.startswith("files/")):
        _, alias, name = info.name.split("/", 2)
        if alias not in storage_names:
            continue
        storage = storages[alias]
        if force and storage.exists(name):
            storage.delete(name)
        content = File(hashing, name=name)
        content.size = info.size
        saved = storage.save(name, content)
        if saved != name:
            storage.delete(saved)
            raise BackupError(f"{alias}: {name} was stored as {saved}; is the storage shared?")
        try:
            _check_again(info.name, hashing, listed)
        except DamagedArchive:
            storage.delete(saved)
            raise
        result.files += 1

    for info, hashing in _members(path, lambda name: name.startswith("pki/")):
        target = _pki_target(info.name)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := hashing.read(CHUNK):
                    out.write(chunk)
            _check_again(info.name, hashing, listed)
            os.replace(partial, target)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(partial)
            raise
        result.pki_files += 1
    return result


def _restore_postgresql(dump: Path, *, force: bool, bin_dir: str | None) -> str | None:
    """pg_restore as the tables' owner (DATABASE_MIGRATE_URL when set), in one transaction:
    it restores all or nothing. The history's triggers come after the data in pg_restore's
    order, so they do not refuse the restored rows. Then the application's role gets its
    rights again (grant_app_role); returns that role, if any."""
    from django.core.management import call_command

    with as_owner(ALIAS):
        major = server_major()
    found = _pg_settings(owner=True)
    tool = pg_tool("pg_restore", major, bin_dir)
    args, environment = _pg_command_line(found)
    extra = ["--clean", "--if-exists"] if force else []
    connections[ALIAS].close()
    _run(
        [str(tool), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        + extra
        + args
        + [str(dump)],
        environment,
        "pg_restore",
    )
    app_user = connections[ALIAS].settings_dict.get("USER")
    if owner_settings() and app_user and app_user != found.get("USER"):
        call_command("grant_app_role", app_user, stdout=io.StringIO())
        return app_user
    return None


def _restore_sqlite(dump: Path) -> None:
    connection = connections[ALIAS]
    connection.close()
    connection.ensure_connection()
    source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
    try:
        source.backup(connection.connection)
    finally:
        source.close()
    connection.close()
