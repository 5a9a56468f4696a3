"""Write the database and the files as one archive with a checksummed manifest
(config.backup; README, "Backup and restore")."""

import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, write_backup


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump's custom format on PostgreSQL, SQLite's backup API "
        "otherwise) and the private and media files into one tar archive with a manifest of "
        "SHA-256 checksums. Written under a temporary name and renamed when complete."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "output",
            nargs="?",
            help="the archive to write (default: var/backups/motcua-<UTC time>.tar[.gz])",
        )
        parser.add_argument("--gzip", action="store_true", help="compress the archive with gzip")
        parser.add_argument(
            "--no-files",
            action="store_true",
            help="the database only (when the storage is an S3 bucket with its own versioning "
            "and replication)",
        )
        parser.add_argument(
            "--include-pki",
            action="store_true",
            help="also archive var/pki and the seal directory: private keys, keep the archive "
            "as secret as the keys themselves",
        )
        parser.add_argument(
            "--pg-bin", metavar="DIR", help="the directory of pg_dump (PostgreSQL's version)"
        )

    def handle(
        self,
        *args,
        output=None,
        gzip=False,
        no_files=False,
        include_pki=False,
        pg_bin=None,
        **options,
    ):
        if output is None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
            output = Path(settings.VAR_DIR) / "backups" / f"motcua-{stamp}.tar"
            if gzip:
                output = output.with_name(output.name + ".gz")
        try:
            written = write_backup(
                Path(output),
                compress=gzip,
                files=not no_files,
                include_pki=include_pki,
                bin_dir=pg_bin,
            )
        except BackupError as exc:
            raise CommandError(f"backup failed: {exc}") from exc
        files = sum(1 for m in written.members if m.name.startswith("files/"))
        self.stdout.write(
            self.style.SUCCESS(
                f"backup written: {written.path} ({written.size} bytes; "
                f"{written.manifest['database']['vendor']} database, {files} file(s)"
                + (", with the PKI" if include_pki else "")
                + f"); archive SHA-256 {written.sha256}"
            )
        )
