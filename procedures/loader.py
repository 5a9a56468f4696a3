"""Loading the catalog: agencies and procedures from data files, all or nothing.

Every file is read and validated before anything is written. A run that finds a
problem reports each one (file, field path, problem) and writes nothing; a run that
finds none writes everything in one transaction. Loading the same files again changes
nothing; a changed procedure file becomes a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
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

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(file)'}: {self.message}"


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


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _read_yaml(path: Path, problems: list[Problem]):
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path.name, "", f"cannot read file: {exc}"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problems.append(Problem(path.name, "", f"not valid YAML: {where}{exc}"))
    return None


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


def read_catalog(directory: Path) -> list[tuple[str, ProcedureSpec]]:
    """Validate every procedure file in ``directory``; raise CatalogError listing all problems."""
    problems: list[Problem] = []
    specs: list[tuple[str, ProcedureSpec]] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise CatalogError([Problem(str(directory), "", "no procedure files (*.yaml) found")])
    for path in files:
        data = _read_yaml(path, problems)
        if data is None and not any(p.file == path.name for p in problems):
            problems.append(Problem(path.name, "", "the file is empty"))
        if data is None:
            continue
        spec = _validate(ProcedureSpec, data, path.name, problems)
        if spec is None:
            continue
        if not _template_exists(spec.result.template):
            problems.append(
                Problem(path.name, "result.template", f"unknown template {spec.result.template!r}")
            )
        for path_in_file, message in spec.fee_problems():
            problems.append(Problem(path.name, path_in_file, message))
        for path_in_file, message in spec.flow_problems():
            problems.append(Problem(path.name, path_in_file, message))
        specs.append((path.name, spec))
    seen: dict[str, str] = {}
    for file, spec in specs:
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


def load_procedures(directory: Path | None = None) -> LoadReport:
    directory = Path(directory or settings.MOTCUA["CATALOG_DIR"])
    specs = read_catalog(directory)
    report = LoadReport()
    with transaction.atomic():
        for file, spec in specs:
            digest = content_hash(spec)
            procedure, created = Procedure.objects.select_for_update().get_or_create(code=spec.code)
            version = procedure.versions.filter(content_hash=digest).first()
            if version is None:
                last = (
                    procedure.versions.order_by("-number").values_list("number", flat=True).first()
                )
                version = ProcedureVersion.objects.create(
                    procedure=procedure,
                    number=(last or 0) + 1,
                    content_hash=digest,
                    source_file=file,
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
                )
                (report.created if created else report.new_versions).append(str(version))
            elif procedure.current_version_id == version.pk and procedure.is_active:
                report.unchanged.append(str(version))
            else:
                report.new_versions.append(f"{version} (restored)")
            if procedure.current_version_id != version.pk or not procedure.is_active:
                procedure.current_version = version
                procedure.is_active = True
                procedure.save(update_fields=["current_version", "is_active"])
        codes = [spec.code for _, spec in specs]
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
