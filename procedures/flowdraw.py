"""A procedure's workflow drawn from its data (procedures.flowspec): Mermaid or Graphviz
DOT text, and the steps a citizen can expect, in order. Labels in Vietnamese (the
papers' and the catalog's first language) unless English is asked for."""

from __future__ import annotations

import re
import zlib

from django.utils import translation

from .flowspec import ACTIONS, LEVELS, lead_of

_WAITS = {
    "supplement": ("Chờ người nộp bổ sung hồ sơ", "Waiting for the applicant's supplement"),
    "request_fee": ("Chờ người nộp nộp phí, lệ phí", "Waiting for the fee payment"),
    "consult": ("Lấy ý kiến đơn vị phối hợp", "Opinions of other units"),
}
_ENDS = {
    "reject": ("Không tiếp nhận hồ sơ", "Not accepted at reception"),
    "refuse": ("Từ chối giải quyết (có văn bản nêu lý do)", "Refused, with written reasons"),
    "issue_paper": ("Trả kết quả (văn bản có chữ ký số)", "Result issued (digitally signed paper)"),
    "issue_notice": ("Trả kết quả (thông báo)", "Result issued (notice)"),
}
_HOLDERS = {
    "handling": ("cơ quan giải quyết", "handling agency"),
    "parent": ("cơ quan cấp trên", "parent agency"),
    "commune": ("cấp xã", "commune"),
    "district": ("cấp huyện", "district"),
    "province": ("cấp tỉnh", "province"),
    "central": ("cấp trung ương", "central level"),
}
assert set(_HOLDERS) >= {"handling", "parent", *LEVELS}


def _id(prefix: str, code: str) -> str:
    """A node id both Mermaid and Graphviz take: a stage code may hold "." or "-"."""
    safe = re.sub(r"\W", "_", code)
    return f"{prefix}_{safe}" if safe == code else f"{prefix}_{safe}_{zlib.crc32(code.encode())}"


def _pick(pair: tuple[str, str], english: bool) -> str:
    return pair[1] if english else pair[0]


def _edges(spec: dict, english: bool) -> tuple[list, list]:
    """(nodes, edges): nodes as (id, label, shape), edges as (source, target, label)."""
    stages = spec["stages"]
    first = stages[0]["code"]
    nodes = [("filed", "Nộp hồ sơ" if not english else "Dossier filed", "start")]
    edges = [("filed", _id("s", first), "")]
    extra: dict[str, tuple[str, str]] = {}
    for stage in stages:
        code = stage["code"]
        name = stage["name"]["en" if english else "vi"]
        holder = _pick(_HOLDERS.get(stage.get("held_by", "handling"), ("", "")), english)
        nodes.append(
            (_id("s", code), f"{name}\n({stage['role']}, {stage['share']}%, {holder})", "stage")
        )
        for action, declared in stage.get("actions", {}).items():
            if action not in ACTIONS:
                continue
            with translation.override("en" if english else "vi"):
                label = str(ACTIONS[action].label)
            lead = lead_of(action, declared, code, first)
            if lead.kind == "to":
                edges.append((_id("s", code), _id("s", lead.stage), label))
            elif lead.kind == "end":
                if action in ("approve", "sign"):
                    key = "issue_notice" if spec.get("outcome") == "notice" else "issue_paper"
                else:
                    key = action
                extra[f"e_{key}"] = (_pick(_ENDS[key], english), "end")
                edges.append((_id("s", code), f"e_{key}", label))
            else:
                wait = _id(f"w_{action}", code)
                extra[wait] = (_pick(_WAITS[action], english), "wait")
                edges.append((_id("s", code), wait, label))
                edges.append((wait, _id("s", lead.stage), ""))
    nodes += [(key, label, shape) for key, (label, shape) in extra.items()]
    return nodes, edges


def mermaid(spec: dict, *, title: str = "", english: bool = False) -> str:
    nodes, edges = _edges(spec, english)

    def q(text: str) -> str:
        return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'

    shapes = {"start": ("([", "])"), "stage": ("[", "]"), "wait": ("{{", "}}"), "end": ("([", "])")}
    lines = ["---", f"title: {title}", "---"] if title else []
    lines.append("flowchart TD")
    for key, label, shape in nodes:
        left, right = shapes[shape]
        lines.append(f"    {key}{left}{q(label)}{right}")
    for source, target, label in edges:
        lines.append(
            f"    {source} -->|{q(label)}| {target}" if label else f"    {source} --> {target}"
        )
    return "\n".join(lines) + "\n"


def dot(spec: dict, *, title: str = "", english: bool = False) -> str:
    nodes, edges = _edges(spec, english)

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    shapes = {
        "start": "shape=oval",
        "stage": "shape=box, style=rounded",
        "wait": "shape=hexagon",
        "end": "shape=oval, style=bold",
    }
    lines = [
        "digraph procedure {",
        "  rankdir=TB; node [fontname=sans]; edge [fontname=sans, fontsize=10];",
    ]
    if title:
        lines.append(f"  labelloc=t; label={q(title)};")
    for key, label, shape in nodes:
        lines.append(f"  {key} [label={q(label)}, {shapes[shape]}];")
    for source, target, label in edges:
        lines.append(f"  {source} -> {target}" + (f" [label={q(label)}];" if label else ";"))
    lines.append("}")
    return "\n".join(lines) + "\n"


def steps(spec: dict, *, english: bool = False) -> list[dict]:
    """The stages a dossier passes, in the file's order, for the citizen: each one's
    name, which level handles it, and the waits it may bring."""
    result = []
    for stage in spec["stages"]:
        waits = [_pick(_WAITS[a], english) for a in stage.get("actions", {}) if a in _WAITS]
        result.append(
            {
                "code": stage["code"],
                "name": stage["name"]["en" if english else "vi"],
                "holder": stage.get("held_by", "handling"),
                "holder_label": _pick(
                    _HOLDERS.get(stage.get("held_by", "handling"), ("", "")), english
                ),
                "share": stage["share"],
                "waits": waits,
            }
        )
    return result
