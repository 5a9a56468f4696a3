"""Restore an archive written by ``backup``, after checking all of it
(config.backup; README, "Backup and restore")."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.backup import BackupError, DamagedArchive, restore_backup, verify_archive


class Command(BaseCommand):
    help = (
        "Check a backup archive (its manifest, every member's size and SHA-256, safe names) "
        "and restore it into an empty database and storage. A damaged archive is refused "
        "before anything is touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="the archive written by manage.py backup")
        parser.add_argument(
            "--check", action="store_true", help="only check the archive; restore nothing"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database and files that are not empty (their content is lost)",
        )
        parser.add_argument(
            "--no-files", action="store_true", help="restore the database only, not the files"
        )
        parser.add_argument(
            "--pg-bin", metavar="DIR", help="the directory of pg_restore (PostgreSQL's version)"
        )

    def handle(
        self, *args, archive, check=False, force=False, no_files=False, pg_bin=None, **options
    ):
        try:
            if check:
                manifest = verify_archive(Path(archive))
                self.stdout.write(
                    self.style.SUCCESS(
                        f"archive intact: {len(manifest['members'])} member(s) match the "
                        f"manifest ({manifest['database']['vendor']} database, written "
                        f"{manifest['created_at']} by motcua {manifest.get('motcua_version')})"
                    )
                )
                return
            restored = restore_backup(
                Path(archive), force=force, files=not no_files, bin_dir=pg_bin
            )
        except DamagedArchive as exc:
            raise CommandError(f"the archive is damaged, nothing was restored: {exc}") from exc
        except BackupError as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        for note in restored.notes:
            self.stdout.write(self.style.WARNING(note))
        if restored.granted:
            self.stdout.write(f"grant_app_role {restored.granted}: done")
        self.stdout.write(
            self.style.SUCCESS(
                f"restored: the {restored.manifest['database']['vendor']} database, "
                f"{restored.files} file(s), {restored.pki_files} PKI file(s), from a backup "
                f"of {restored.manifest['created_at']}; run manage.py verify_history --all"
            )
        )
