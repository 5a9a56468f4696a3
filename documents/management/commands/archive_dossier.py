import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from documents.archive import ArchiveError, dossier_archive
from workflows.models import Dossier


def find_dossier(reference: str) -> Dossier | None:
    """By its code, or by ``#pk`` as ``Dossier.reference`` names one that has no code (a
    dossier refused at the desk never gets one)."""
    reference = reference.strip()
    number = reference.removeprefix("#")
    if reference.startswith("#") and number.isascii() and number.isdigit() and len(number) <= 18:
        return Dossier.objects.filter(pk=int(number)).first()
    return Dossier.objects.filter(code__iexact=reference).first() if reference else None


class Command(BaseCommand):
    help = (
        "Write a dossier's archive package: a ZIP with its papers (the stored originals and "
        "PDF/A-3b renderings), its history with the hash chain, its files and a manifest "
        "with the SHA-256 of every member."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "code",
            help="the dossier code, or its reference #42 (a dossier refused at the desk has "
            "no code)",
        )
        parser.add_argument("--out", required=True, help="the ZIP file to write")

    def handle(self, *args, code, out, **options):
        dossier = find_dossier(code)
        if dossier is None:
            raise CommandError(f"no dossier with the code or reference {code!r}")
        try:
            data = dossier_archive(dossier=dossier)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:  # a file missing from the store, or the store not answering
            raise CommandError(f"a file of {dossier.reference} could not be read: {exc}") from exc
        target = Path(out)
        # Written beside the target and renamed: a reader never sees half a package.
        fd, partial = tempfile.mkstemp(dir=target.parent or ".", suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"archive of {dossier.reference} written to {target} ({len(data)} bytes)"
            )
        )
