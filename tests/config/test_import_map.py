"""The import map (README "Layers", pyproject.toml [tool.importlinter]) holds, and its
check fails on what it forbids: an upward import, a circle between one app's files, a
model or service importing a view. Each failure is planted in a copy of the apps, never in
the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = read_configuration(str(ROOT / "pyproject.toml"))
APPS = CONFIG["session_options"]["root_packages"]


def lint_imports(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - the venv's lint-imports, fixed arguments
        [str(LINT_IMPORTS), "--no-cache", "--config", str(where / "pyproject.toml")],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _python_only(directory: str, names: list[str]) -> list[str]:
    return [
        name
        for name in names
        if name == "__pycache__"
        or (not name.endswith(".py") and not (Path(directory) / name).is_dir())
    ]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the apps' Python files and of pyproject.toml."""
    copy = tmp_path_factory.mktemp("project")
    for app in APPS:
        shutil.copytree(ROOT / app, copy / app, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_the_project_keeps_its_import_map():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copy_keeps_it_too(project):
    """The copy below is faithful: unchanged, it passes (so each failure is the plant's)."""
    result = lint_imports(project)
    assert result.returncode == 0, result.stdout + result.stderr


PLANTS = {
    "upward": (
        # The catalog reaching up into the citizens' portal.
        {"procedures/planted.py": "from portal import services  # noqa\n"},
        ["Apps import only the layers below them BROKEN", "procedures.planted -> portal.services"],
    ),
    "upward-lazy": (
        # Inside a function counts as much as at the top.
        {"workflows/planted.py": "def f():\n    from workspace import views  # noqa\n"},
        ["Apps import only the layers below them BROKEN", "workflows.planted -> workspace.views"],
    ),
    "between-ways-in": (
        # The portal and the officers' workspace never know each other.
        {"portal/planted.py": "import workspace.selectors  # noqa\n"},
        ["Apps import only the layers below them BROKEN", "portal.planted -> workspace"],
    ),
    "circle": (
        {
            "documents/planted_a.py": "from documents import planted_b  # noqa\n",
            "documents/planted_b.py": "from documents import planted_a  # noqa\n",
        },
        ["No circles between the files of one app BROKEN", "No cycles are allowed in documents"],
    ),
    "service-imports-a-view": (
        {"notifications/services.py": "\nfrom notifications import views  # noqa\n"},
        ["Models, services and selectors never import views BROKEN", "notifications.views"],
    ),
}


@pytest.mark.parametrize("plant", PLANTS, ids=list(PLANTS))
def test_a_planted_import_fails_the_check(project, plant):
    files, expected = PLANTS[plant]
    saved = {}
    try:
        for name, text in files.items():
            path = project / name
            saved[path] = path.read_text() if path.exists() else None
            path.write_text((saved[path] or "") + text)
        result = lint_imports(project)
    finally:
        for path, text in saved.items():
            path.unlink() if text is None else path.write_text(text)
    assert result.returncode == 1, result.stdout + result.stderr
    for line in expected:
        assert line in result.stdout, result.stdout


def test_every_app_and_config_module_has_its_layer():
    """The layers contract names config's modules one by one (the composition root at the
    top, the shared helpers at the bottom): a new one must be given its place."""
    (layers,) = [c for c in CONFIG["contracts_options"] if c["type"] == "layers"]
    placed = {
        name.strip()
        for layer in layers["layers"]
        for group in layer.split("|")
        for name in group.split(":")
    }
    config_modules = {
        f"config.{path.stem if path.suffix == '.py' else path.name}"
        for path in (ROOT / "config").iterdir()
        if (path.suffix == ".py" and path.name != "__init__.py") or (path / "__init__.py").exists()
    }
    missing = (config_modules | set(APPS) - {"config"}) - placed
    assert not missing, f"not in any layer of pyproject.toml's layers contract: {sorted(missing)}"
