import shutil
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedures.flowdraw import dot, mermaid
from procedures.models import Procedure


class Command(BaseCommand):
    help = (
        "Write a procedure's workflow, from its data, as Mermaid, DOT or SVG (SVG needs Graphviz)."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="the procedure's national code")
        parser.add_argument("--format", choices=["mermaid", "svg", "dot"], default="mermaid")
        parser.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")

    def handle(self, *args, code, format, output=None, **options):
        procedure = Procedure.objects.filter(code=code).select_related("current_version").first()
        if procedure is None or procedure.current_version is None:
            raise CommandError(f"no procedure with code {code!r}; load the catalog first")
        version = procedure.current_version
        title = f"{procedure.code} v{version.number}: {version.name}"
        if format == "mermaid":
            text = mermaid(version.spec, title=title).encode()
        elif format == "dot":
            text = dot(version.spec, title=title).encode()
        else:
            binary = shutil.which("dot")
            if binary is None:
                raise CommandError(
                    "SVG needs Graphviz's 'dot' (apt-get install graphviz); "
                    "use --format mermaid instead"
                )
            try:
                text = subprocess.run(  # noqa: S603 - fixed binary, our own DOT on stdin
                    [binary, "-Tsvg"],
                    input=dot(version.spec, title=title).encode(),
                    capture_output=True,
                    check=True,
                    timeout=60,
                ).stdout
            except (subprocess.SubprocessError, OSError) as exc:
                raise CommandError(f"Graphviz failed: {exc}") from exc
        if output:
            try:
                output.write_bytes(text)
            except OSError as exc:
                raise CommandError(f"cannot write {output}: {exc}") from exc
            self.stdout.write(self.style.SUCCESS(f"wrote {output}"))
        else:
            self.stdout.write(text.decode())
