"""One way in (issue #13): the dossier's flow-bound transitions are private to the service
layer. Outside it, an officer's action is a stage's task completed (services.work, or
documents.task_sign for the signature), and the applicant's steps are work's too; nothing
else calls the transitions, so a dossier never moves without its flow."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
APPS = read_configuration(str(ROOT / "pyproject.toml"))["session_options"]["root_packages"]
# The transitions that move the dossier along its flow (workflows.services.dossiers, fees).
FLOW_BOUND = frozenset(
    {
        "dossier_submit",
        "dossier_resubmit",
        "dossier_receive",
        "dossier_request_supplement",
        "dossier_reject_at_reception",
        "dossier_withdraw",
        "dossier_start_review",
        "dossier_propose",
        "dossier_send_back",
        "dossier_approve",
        "dossier_refuse",
        "dossier_sign",
        "dossier_issue",
        "dossier_record_opinion",
        "dossier_record_inspection",
        "dossier_request_fee",
        "dossier_resume_after_fee",
    }
)
# Where they may be named: the service layer itself, and the flow's nodes it drives.
INSIDE = ("workflows/services/", "workflows/flows.py")


def uses(source: str) -> set[str]:
    """The flow-bound transitions a module's code names (imported, called or passed)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in FLOW_BOUND:
            found.add(node.id)
        elif isinstance(node, ast.Attribute) and node.attr in FLOW_BOUND:
            found.add(node.attr)
        elif isinstance(node, ast.alias) and node.name.split(".")[-1] in FLOW_BOUND:
            found.add(node.name.split(".")[-1])
    return found


def test_no_module_outside_the_service_layer_moves_a_dossier_by_itself():
    offenders = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            where = path.relative_to(ROOT).as_posix()
            if where.startswith(INSIDE) or "/migrations/" in where:
                continue
            found = uses(path.read_text("utf-8"))
            if found:
                offenders[where] = sorted(found)
    assert offenders == {}


def test_the_check_sees_each_way_of_naming_one():
    assert uses("from workflows.services.dossiers import dossier_approve") == {"dossier_approve"}
    assert uses("from workflows import services\nservices.dossier_sign(dossier=d, by=u)") == {
        "dossier_sign"
    }
    assert uses("handler = dossiers.dossier_refuse") == {"dossier_refuse"}
    assert uses("work.task_complete(task=t, by=u, action='approve')") == set()
