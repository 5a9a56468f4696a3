"""A procedure version's workflow graph (procedures.flowdraw) as SVG, drawn by Graphviz on
the server, and its preview on the procedure authoring page (procedures.authoring)."""

from __future__ import annotations

import shutil
import subprocess

from django.utils.translation import gettext as _

from .flowdraw import dot
from .models import ProcedureVersion


class GraphError(Exception):
    pass


def flow_graph_svg(version: ProcedureVersion, *, timeout: float = 20) -> bytes:
    """The version's workflow drawn by Graphviz's ``dot`` as SVG."""
    binary = shutil.which("dot")
    if binary is None:
        raise GraphError(_("Graphviz ('dot') is not installed on the server."))
    try:
        return subprocess.run(  # noqa: S603 - fixed binary, our own DOT on stdin
            [binary, "-Tsvg"],
            input=dot(version.spec).encode(),
            capture_output=True,
            check=True,
            timeout=timeout,
        ).stdout
    except (subprocess.SubprocessError, OSError) as exc:
        raise GraphError(
            _("Graphviz could not draw the graph: %(error)s") % {"error": exc}
        ) from exc
