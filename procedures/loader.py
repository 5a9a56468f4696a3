"""Loading the catalog: agencies and procedures from data files, all or nothing.

Every file is read and validated before anything is written. A run that finds a
problem reports each one (file, field path, problem) and writes nothing; a run that
finds none writes everything in one transaction. Loading the same files again changes
nothing; a changed procedure file becomes a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.search import search_text

from .models import Agency, Procedure, ProcedureVersion
from .schema import ProcedureSpec, Text


@dataclass(frozen=True)
class Problem:
    file: str
    path: str
    message: str
    # The line of the file the path points at (1-based), where it can be found.
    line: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        # A YAML syntax error's message names its line already.
        line = f" (line {self.line})" if self.line and self.path else ""
        return f"{self.file}: {self.path or '(file)'}: {self.message}{line}"


class CatalogError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)
    # Files holding an older content than a version published in the admin since.
    kept: list[str] = field(default_factory=list)


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _read_text(path: Path, problems: list[Problem]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path.name, "", f"cannot read file: {exc}"))
    return None


def _parse_yaml(text: str, file: str, problems: list[Problem]):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        line = mark.line + 1 if mark else None
        problems.append(Problem(file, "", f"not valid YAML: {where}{exc}", line=line))
    return None


def _read_yaml(path: Path, problems: list[Problem]):
    text = _read_text(path, problems)
    return None if text is None else _parse_yaml(text, path.name, problems)


def _validate(model: type[BaseModel], data, file: str, problems: list[Problem]):
    if not isinstance(data, dict):
        problems.append(Problem(file, "", "the file must hold a mapping of fields"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(file, _dotted(err["loc"]), message))
    return None


def content_hash(spec: ProcedureSpec) -> str:
    canonical = json.dumps(
        spec.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _template_exists(name: str) -> bool:
    try:
        get_template(f"{settings.MOTCUA['RESULT_TEMPLATE_DIR']}/{name}.html")
    except TemplateDoesNotExist:
        return False
    return True


def _compose(text: str):
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def _line_in(root, path: str) -> int | None:
    """The 1-based line where ``path`` ("components.0.code") sits in the composed YAML
    ``root``: the line of its key, else of the nearest parent found (a missing field: its
    mapping)."""
    if root is None:
        return None
    node, line = root, root.start_mark.line + 1
    for part in path.split(".") if path else []:
        if isinstance(node, yaml.MappingNode):
            found = next((kv for kv in node.value if kv[0].value == part), None)
            if found is None:
                break
            line = found[0].start_mark.line + 1
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _line_of(text: str, path: str) -> int | None:
    return _line_in(_compose(text), path)


def spec_checks() -> list[str]:
    """The procedure's own consistency checks: every ``*_problems(self)`` method of
    ProcedureSpec (``fee_problems``, ...), each returning (path, problem) pairs. A check
    added to the schema under that name runs in every load, file or admin, with no change
    here."""
    return sorted(
        name
        for name in dir(ProcedureSpec)
        if name.endswith("_problems") and callable(getattr(ProcedureSpec, name))
    )


def validate_procedure(file: str, text: str) -> tuple[ProcedureSpec | None, list[Problem]]:
    """Validate one procedure file's YAML ``text``: the spec (None when it does not even
    parse into one) and every problem found, each with its field path and line. The same
    checks for a catalog file and for a text edited in the admin."""
    problems: list[Problem] = []
    data = _parse_yaml(text, file, problems)
    if problems:
        return None, problems
    if data is None:
        return None, [Problem(file, "", "the file is empty")]
    spec = _validate(ProcedureSpec, data, file, problems)
    if spec is not None:
        if not _template_exists(spec.result.template):
            problems.append(
                Problem(file, "result.template", f"unknown template {spec.result.template!r}")
            )
        for check in spec_checks():
            for path_in_file, message in getattr(spec, check)():
                problems.append(Problem(file, path_in_file, message))
    if problems:
        root = _compose(text)
        problems = [
            p if p.line is not None else replace(p, line=_line_in(root, p.path)) for p in problems
        ]
    return spec, problems


def _read_catalog(directory: Path) -> list[tuple[str, ProcedureSpec, str]]:
    problems: list[Problem] = []
    specs: list[tuple[str, ProcedureSpec, str]] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise CatalogError([Problem(str(directory), "", "no procedure files (*.yaml) found")])
    for path in files:
        text = _read_text(path, problems)
        if text is None:
            continue
        spec, found = validate_procedure(path.name, text)
        problems.extend(found)
        if spec is not None:
            specs.append((path.name, spec, text))
    seen: dict[str, str] = {}
    for file, spec, _text in specs:
        if spec.code in seen:
            problems.append(
                Problem(
                    file, "code", f"duplicate code {spec.code!r}, also used in {seen[spec.code]}"
                )
            )
        seen.setdefault(spec.code, file)
    if problems:
        raise CatalogError(problems)
    return specs


def read_catalog(directory: Path) -> list[tuple[str, ProcedureSpec]]:
    """Validate every procedure file in ``directory``; raise CatalogError listing all problems."""
    return [(file, spec) for file, spec, _text in _read_catalog(directory)]


# What write_version did: a new procedure, a new version of one, nothing (the same content
# is already its current version), an earlier version with the same content made current,
# or nothing because a newer version was published in the admin (KEPT).
CREATED, NEW_VERSION, UNCHANGED, RESTORED, KEPT = (
    "created",
    "new_version",
    "unchanged",
    "restored",
    "kept",
)


def version_of(procedure: Procedure, spec: ProcedureSpec, *, number: int, **columns):
    """A version of ``spec``, not saved: its columns read from the specification (the one
    place they are; the admin's preview draws such a version)."""
    return ProcedureVersion(
        procedure=procedure,
        number=number,
        content_hash=content_hash(spec),
        effective_from=spec.effective_from,
        name=spec.name.vi,
        name_en=spec.name.en,
        sector=spec.sector.vi,
        agency_level=spec.agency_level,
        time_limit_days=spec.time_limit_days,
        retention_years=spec.retention_years,
        online_level=spec.online_level,
        fee=spec.fee_amount,
        spec=spec.to_json(),
        search_text=search_text(spec.code, spec.name.vi, spec.name.en),
        **columns,
    )


def write_version(
    spec: ProcedureSpec, *, file: str, source_yaml: str = "", by=None, from_file: bool = False
) -> tuple[ProcedureVersion, str]:
    """Make ``spec`` (validated: validate_procedure) its procedure's current version.

    Versions are never changed or deleted: content already held by a version (same
    content hash) reuses that version; anything else becomes a new version numbered after
    the last. Returns the version and what was done (CREATED, NEW_VERSION, UNCHANGED,
    RESTORED, KEPT).

    ``from_file``: the spec comes from a catalog file that is loaded again at every start.
    A file still holding the content of a version older than one published in the admin
    since (published_by set) is not a decision to go back: that version stays current
    (KEPT). A changed file still makes a new version, which becomes current."""
    digest = content_hash(spec)
    with transaction.atomic():
        procedure, created = Procedure.objects.select_for_update().get_or_create(code=spec.code)
        version = procedure.versions.filter(content_hash=digest).first()
        if version is None:
            last = procedure.versions.order_by("-number").values_list("number", flat=True).first()
            version = version_of(
                procedure,
                spec,
                number=(last or 0) + 1,
                source_file=file,
                source_yaml=source_yaml,
                published_by=by,
            )
            version.save(force_insert=True)
            outcome = CREATED if created else NEW_VERSION
        elif procedure.current_version_id == version.pk and procedure.is_active:
            outcome = UNCHANGED
        elif from_file and _published_since(procedure, version):
            if not procedure.is_active:
                procedure.is_active = True
                procedure.save(update_fields=["is_active"])
            return procedure.current_version, KEPT
        else:
            outcome = RESTORED
        if procedure.current_version_id != version.pk or not procedure.is_active:
            procedure.current_version = version
            procedure.is_active = True
            procedure.save(update_fields=["current_version", "is_active"])
    return version, outcome


def _published_since(procedure: Procedure, version: ProcedureVersion) -> bool:
    current = procedure.current_version
    return (
        current is not None
        and current.number > version.number
        and current.published_by_id is not None
    )


def load_procedures(directory: Path | None = None) -> LoadReport:
    directory = Path(directory or settings.MOTCUA["CATALOG_DIR"])
    specs = _read_catalog(directory)
    report = LoadReport()
    with transaction.atomic():
        for file, spec, text in specs:
            version, outcome = write_version(spec, file=file, source_yaml=text, from_file=True)
            if outcome == CREATED:
                report.created.append(str(version))
            elif outcome == NEW_VERSION:
                report.new_versions.append(str(version))
            elif outcome == UNCHANGED:
                report.unchanged.append(str(version))
            elif outcome == KEPT:
                report.kept.append(f"{version} ({file} holds an older version)")
            else:
                report.new_versions.append(f"{version} (restored)")
        codes = [spec.code for _, spec, _text in specs]
        gone = Procedure.objects.filter(is_active=True).exclude(code__in=codes)
        report.unpublished = list(gone.values_list("code", flat=True))
        gone.update(is_active=False)
    return report


# --- Agencies ------------------------------------------------------------------------------


class AgencyNode(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    code: str = Field(pattern=r"^[A-Z][0-9]{2}(\.[0-9]{2,3})*$")
    name: Text
    kind: Literal["central", "province", "department", "district", "commune"]
    province: str | None = None
    children: list[AgencyNode] = []


class AgencyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    agencies: list[AgencyNode] = Field(min_length=1)


def load_agencies(path: Path | None = None) -> int:
    """Create or update the agency tree from its data file; returns how many agencies it holds."""
    path = Path(path or settings.MOTCUA["AGENCIES_FILE"])
    problems: list[Problem] = []
    data = _read_yaml(path, problems)
    tree = _validate(AgencyFile, data, path.name, problems) if not problems else None
    if tree is not None:
        codes: list[str] = []

        def walk(nodes):
            for node in nodes:
                codes.append(node.code)
                walk(node.children)

        walk(tree.agencies)
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            problems.append(Problem(path.name, "agencies", f"duplicate code(s) {', '.join(dupes)}"))
    if problems:
        raise CatalogError(problems)

    count = 0
    with transaction.atomic():

        def save(nodes, parent: Agency | None):
            nonlocal count
            for node in nodes:
                agency, _ = Agency.objects.update_or_create(
                    code=node.code,
                    defaults={
                        "name": node.name.vi,
                        "name_en": node.name.en,
                        "kind": node.kind,
                        "province": node.province or "",
                        "parent": parent,
                        "path": f"{parent.path if parent else '/'}{node.code}/",
                    },
                )
                count += 1
                save(node.children, agency)

        save(tree.agencies, None)
    return count
