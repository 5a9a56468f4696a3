"""Authoring a procedure in the admin: its YAML checked with the loader's own checks,
previewed, published as a new version, and versions compared.

The checks and the writing are the catalog loader's (procedures.loader): a text published
here is held to exactly what a catalog file is, and the same content never makes a second
version. Previews other apps own (the dossier's flow graph, in workflows) plug in through
``register_preview``: the catalog knows nothing of the dossier.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from .flowsvg import GraphError, flow_graph_svg
from .loader import (
    CatalogError,
    Problem,
    _line_of,
    content_hash,
    validate_procedure,
    version_of,
    write_version,
)
from .models import Procedure, ProcedureVersion
from .schema import ProcedureSpec

# A procedure file is a few dozen kilobytes; anything much larger is not one.
MAX_YAML_BYTES = 256 * 1024


def read_yaml_upload(upload) -> str:
    """The text of an uploaded YAML file; ValidationError (a message for the page) when it is
    too large, not UTF-8 text, or binary under a YAML name."""
    if upload.size is not None and upload.size > MAX_YAML_BYTES:
        raise ValidationError(too_large_message(upload.size), code="too_large")
    raw = upload.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        raise ValidationError(too_large_message(len(raw)), code="too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _(
                "The file is not UTF-8 text (byte %(at)d cannot be read): save it as UTF-8 "
                "YAML and upload it again."
            )
            % {"at": exc.start + 1},
            code="not_text",
        ) from exc
    check_text(text)
    return text


def too_large_message(size: int) -> str:
    return _("The YAML is %(size)d KB; at most %(max)d KB is accepted.") % {
        "size": -(-size // 1024),
        "max": MAX_YAML_BYTES // 1024,
    }


def check_text(text: str) -> None:
    """Refuse a text that no procedure file can be: over the size limit, or holding control
    characters (a binary file that happens to decode)."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise ValidationError(too_large_message(len(text.encode("utf-8"))), code="too_large")
    for index, char in enumerate(text):
        if char < " " and char not in "\t\n\r":
            line = text.count("\n", 0, index) + 1
            raise ValidationError(
                _(
                    "The text holds a control character (code %(code)d) on line %(line)d: "
                    "it is not a YAML text file."
                )
                % {"code": ord(char), "line": line},
                code="binary",
            )


def check_procedure(
    procedure: Procedure, text: str, file: str
) -> tuple[ProcedureSpec | None, list[Problem]]:
    """The loader's checks of one file, and that the text is this procedure's (same code)."""
    spec, problems = validate_procedure(file, text)
    if spec is not None and spec.code != procedure.code:
        problems.append(
            Problem(
                file,
                "code",
                _("This page edits procedure %(mine)s; the text is procedure %(theirs)s.")
                % {"mine": procedure.code, "theirs": spec.code},
                line=_line_of(text, "code"),
            )
        )
    return spec, problems


def version_yaml(version: ProcedureVersion) -> tuple[str, bool]:
    """The version's YAML and whether it is the text as written. A version loaded before
    texts were kept gets its catalog file when that still holds the same content, else its
    stored content written out as YAML (the same content, without comments)."""
    if version.source_yaml:
        return version.source_yaml, True
    path = Path(settings.MOTCUA["CATALOG_DIR"]) / Path(version.source_file).name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = None
    if text is not None:
        spec, problems = validate_procedure(path.name, text)
        if spec is not None and not problems and content_hash(spec) == version.content_hash:
            return text, True
    data = dict(version.spec)
    # YAML reads an unquoted date as a date, which the schema wants; JSON kept it as text.
    if isinstance(data.get("effective_from"), str):
        data["effective_from"] = dt.date.fromisoformat(data["effective_from"])
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100), False


def with_effective_from(text: str, day: dt.date) -> str:
    """``text`` with its top-level ``effective_from`` set to ``day``, all else as written."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "effective_from" and isinstance(value, yaml.ScalarNode):
                start, end = value.start_mark.index, value.end_mark.index
                return f"{text[:start]}{day.isoformat()}{text[end:]}"
    raise ValueError("the text has no top-level effective_from")


def validate_effective_from(day: dt.date) -> None:
    if day < timezone.localdate():
        raise ValidationError(
            _("The effective date cannot be in the past (today is %(today)s).")
            % {"today": timezone.localdate().strftime("%d/%m/%Y")},
            code="past",
        )


def procedure_publish(
    *, procedure: Procedure, text: str, effective_from: dt.date, by, file: str
) -> tuple[ProcedureVersion, str]:
    """Publish ``text`` as the procedure's new version, in force from ``effective_from``.

    The date is written into the text, which is checked as a catalog file is (CatalogError
    lists the problems) and written by the loader: the same content as an existing version
    makes no new one. Returns the version and what was done (procedures.loader outcomes).
    """
    validate_effective_from(effective_from)
    check_text(text)
    spec, problems = check_procedure(procedure, text, file)
    if problems:
        raise CatalogError(problems)
    text = with_effective_from(text, effective_from)
    spec, problems = check_procedure(procedure, text, file)
    if problems:  # the date written in cannot make the file wrong, but never publish unchecked
        raise CatalogError(problems)
    return write_version(spec, file=file, source_yaml=text, by=by)


def unsaved_version(procedure: Procedure, spec: ProcedureSpec) -> ProcedureVersion:
    """A version of ``spec`` that is never saved: what previews draw."""
    last = procedure.versions.order_by("-number").values_list("number", flat=True).first()
    return version_of(procedure, spec, number=(last or 0) + 1)


# --- Previews other apps add -------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    title: str
    svg: bytes | None  # an image, shown as one (never inlined into the page)
    error: str = ""


_previews: list[Callable[[ProcedureVersion], Preview]] = []


def register_preview(render: Callable[[ProcedureVersion], Preview]):
    """Add a preview (called with an unsaved version) to the authoring page."""
    if render not in _previews:
        _previews.append(render)
    return render


def previews(version: ProcedureVersion) -> list[Preview]:
    """The workflow's graph (procedures.flowsvg), then what other apps registered."""
    return [_flow_graph(version), *(render(version) for render in _previews)]


def _flow_graph(version: ProcedureVersion) -> Preview:
    title = _("Flow graph")
    try:
        return Preview(title, flow_graph_svg(version))
    except GraphError as exc:
        return Preview(title, None, str(exc))


# --- Comparing versions ------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "remove", "hunk", "header" or "same"
    text: str


def version_diff(old: ProcedureVersion, new: ProcedureVersion) -> list[DiffLine]:
    """A unified diff of two versions' YAML, line by line, each with its kind."""
    old_text, _exact = version_yaml(old)
    new_text, _exact = version_yaml(new)
    lines = difflib.unified_diff(
        old_text.splitlines(),
        new_text.splitlines(),
        fromfile=f"{old.procedure.code} v{old.number}",
        tofile=f"{new.procedure.code} v{new.number}",
        lineterm="",
    )
    out = []
    for index, line in enumerate(lines):
        if index < 2:  # the "--- old" and "+++ new" lines
            kind = "header"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "remove"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out
