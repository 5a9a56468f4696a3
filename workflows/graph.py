"""The dossier state machine of one procedure, as Mermaid or Graphviz DOT text."""

from __future__ import annotations

from procedures.models import ProcedureVersion

from .models import Dossier, Status

# Which stage of the procedure acts on each transition (None: the applicant or the system).
TRANSITION_STAGE = {
    "submit": None,
    "resubmit": None,
    "withdraw": None,
    "issue": None,
    "receive": "reception",
    "request_supplement_at_reception": "reception",
    "reject_at_reception": "reception",
    "start_review": "review",
    "propose": "review",
    "request_supplement_after_review": "review",
    "send_back": "approval",
    "approve": "approval",
    "refuse": "approval",
    "reschedule": "approval",
    "sign": "signing",
}
ACTOR = {"submit": "applicant", "resubmit": "applicant", "withdraw": "applicant", "issue": "system"}


def transitions() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every declared transition."""
    field = Dossier._meta.get_field("status")
    edges = []
    for t in field.get_all_transitions(Dossier):
        if t.target is None or t.source == "*":
            continue
        targets = [t.source] if not isinstance(t.target, str) else [t.target]
        for target in targets:
            edges.append((t.source, target, t.name))
    return sorted(set(edges))


def _label(version: ProcedureVersion, name: str) -> str:
    stage_code = TRANSITION_STAGE.get(name)
    if stage_code is None:
        return f"{name} ({ACTOR.get(name, 'system')})"
    try:
        stage = version.stage(stage_code)
    except KeyError:
        return name
    return f"{name} ({stage['role']}, {stage['share']}%)"


def mermaid(version: ProcedureVersion) -> str:
    lines = [
        "---",
        f"title: {version.procedure.code} v{version.number} {version.name}",
        "---",
        "stateDiagram-v2",
    ]
    for value, label in Status.choices:
        lines.append(f"    {value}: {label}")
    lines.append(f"    [*] --> {Status.DRAFT}")
    for source, target, name in transitions():
        lines.append(f"    {source} --> {target}: {_label(version, name)}")
    for final in (
        Status.ISSUED,
        Status.REFUSED,
        Status.REJECTED_AT_RECEPTION,
        Status.WITHDRAWN,
        Status.DISCARDED,
    ):
        lines.append(f"    {final} --> [*]")
    return "\n".join(lines) + "\n"


def dot(version: ProcedureVersion) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = [
        "digraph dossier {",
        "  rankdir=LR; node [shape=box, style=rounded, fontname=sans]; edge [fontname=sans, fontsize=10];",
        f"  labelloc=t; label={q(f'{version.procedure.code} v{version.number}: {version.name}')};",
    ]
    for value, label in Status.choices:
        node_label = q(f"{value}\n{label}")
        lines.append(f"  {value} [label={node_label}];")
    for source, target, name in transitions():
        lines.append(f"  {source} -> {target} [label={q(_label(version, name))}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
