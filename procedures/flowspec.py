"""Each procedure's workflow, as its file declares it (issue #13).

A procedure's ``stages`` list its stages in order; each stage names the role that acts
there, its share of the time limit, which agency holds it, and the ``actions`` an officer
may take there, each leading somewhere:

- ``{to: STAGE}``: the next stage;
- ``{end: true}``: the end the action implies (a refusal, a desk rejection, or the issue
  of the result after the decision or the signature);
- a wait for the applicant (``supplement``: an answer, ``request_fee``: the payment) or a
  consultation of other units (``consult``), after which the flow goes on at ``then``
  (the first stage for a supplement, where the desk checks the answer; else this stage).

The actions come from a fixed vocabulary (``ACTIONS``) that the engine implements: the
rules about each (who may take it, from which state of the dossier, where it may lead)
and its label live here, once; ``workflows.actions`` binds each to its form and service.
``flow_problems`` checks a whole graph and names the path of each problem; a file that
passes runs on the engine's one generic flow (``workflows.flows``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .roles import Role

# Administrative levels a stage may be handed to, lowest first (the agency tree's kinds).
LEVELS = ("commune", "district", "province", "central")
# Who holds a stage: the agency handling the dossier, its parent, or the nearest agency
# at a named level above it (or itself, when it is at that level).
HOLDERS = ("handling", "parent", *LEVELS)
# The consulted units' own task: not a stage code a file may use.
CONSULT_STAGE = "consult"

# Dossier states (workflows.models.Status values), as the actions' rules name them.
SUBMITTED, RECEIVED, IN_REVIEW, APPROVED = "submitted", "received", "in_review", "approved"


@dataclass(frozen=True)
class ActionKind:
    """One action of the vocabulary: what it is called, which roles may take it, from
    which states of the dossier, the state it leaves behind, and where it may lead."""

    name: str
    label: str
    roles: frozenset
    sources: frozenset
    result: str | None  # the state after it (None: it ends the flow, or it waits)
    leads: frozenset  # of "to", "end", "wait", "consult"
    # A wait's or a consultation's ``then`` when the file gives none: "first" or "here".
    then: str = "here"
    # Where the states it applies in differ by role: (role, states) pairs.
    by_role: tuple = ()

    def sources_for(self, role: str) -> frozenset:
        """The states this action applies in when taken by ``role``."""
        for who, states in self.by_role:
            if who == role:
                return frozenset(states)
        return self.sources


def _kind(name, label, roles, sources, result, leads, then="here", by_role=()) -> ActionKind:
    return ActionKind(
        name, label, frozenset(roles), frozenset(sources), result, frozenset(leads), then, by_role
    )


_DESK, _SPECIALIST, _HEAD, _SIGNER = Role.RECEPTION, Role.SPECIALIST, Role.HEAD, Role.SIGNER
_APPRAISING = (RECEIVED, IN_REVIEW)

ACTIONS: dict[str, ActionKind] = {
    a.name: a
    for a in (
        _kind(
            "accept", _("Accept: the dossier is complete"), [_DESK], [SUBMITTED], RECEIVED, ["to"]
        ),
        _kind("reject", _("Refuse to receive"), [_DESK], [SUBMITTED], None, ["end"]),
        _kind(
            "supplement",
            _("Request a supplement"),
            [_DESK, _SPECIALIST],
            [SUBMITTED, RECEIVED, IN_REVIEW],
            SUBMITTED,
            ["wait"],
            then="first",
            # The desk asks before receiving; the specialist while appraising.
            by_role=((_DESK, (SUBMITTED,)), (_SPECIALIST, (RECEIVED, IN_REVIEW))),
        ),
        _kind(
            "inspect", _("Record a field inspection"), [_SPECIALIST], _APPRAISING, IN_REVIEW, ["to"]
        ),
        _kind("propose", _("Propose a decision"), [_SPECIALIST], _APPRAISING, IN_REVIEW, ["to"]),
        _kind(
            "request_fee",
            _("Request the fee payment"),
            [_SPECIALIST],
            _APPRAISING,
            IN_REVIEW,
            ["wait"],
        ),
        _kind(
            "consult",
            _("Ask other units for their opinion"),
            [_SPECIALIST],
            _APPRAISING,
            IN_REVIEW,
            ["consult"],
        ),
        _kind("approve", _("Approve"), [_HEAD], [IN_REVIEW], APPROVED, ["to", "end"]),
        _kind("refuse", _("Refuse"), [_HEAD], [IN_REVIEW], None, ["end"]),
        _kind("send_back", _("Send back to review"), [_HEAD], [IN_REVIEW], IN_REVIEW, ["to"]),
        _kind("sign", _("Sign the result"), [_SIGNER], [APPROVED], None, ["end"]),
    )
}
# The order an officer sees a stage's actions in: going forward first, then a wait or a
# consultation, then going back or ending (a file's own order is not kept by PostgreSQL).
ORDER = (
    "accept",
    "inspect",
    "propose",
    "approve",
    "sign",
    "consult",
    "request_fee",
    "supplement",
    "send_back",
    "refuse",
    "reject",
)
ACTIONS = {name: ACTIONS[name] for name in ORDER}
# The consulted unit's one action, on its own task (not declared in files).
OPINION = _kind("opinion", _("Give the opinion"), [_SPECIALIST], _APPRAISING, IN_REVIEW, [])

OUTCOMES = ("paper", "notice", "both")


@dataclass(frozen=True)
class Lead:
    """Where an action leads: one of ``to`` (a stage), ``end``, or a wait / consultation
    going on at ``then`` (a stage)."""

    kind: str  # "to", "end", "wait", "consult"
    stage: str | None = None


class FlowGraph:
    """A procedure version's graph, read from its specification (a dict, as stored)."""

    def __init__(self, spec: dict):
        self.stages = {s["code"]: s for s in spec["stages"]}
        self.order = [s["code"] for s in spec["stages"]]
        self.first = self.order[0]
        self.outcome = spec.get("outcome", "paper")

    def lead(self, stage: str, action: str) -> Lead:
        declared = self.stages[stage]["actions"][action]
        return lead_of(action, declared, stage, self.first)

    def actions(self, stage: str) -> list[str]:
        """The stage's actions in the order officers see them (ORDER): PostgreSQL's jsonb
        keeps no key order, so the file's cannot be relied on."""
        declared = self.stages[stage]["actions"]
        return [name for name in ACTIONS if name in declared]

    def holder(self, stage: str) -> str:
        return self.stages[stage].get("held_by", "handling")

    def resume_after(self, action: str) -> str:
        """Where a flow waiting since an ``action`` of an unknown stage goes on (a wait
        begun before the stage was recorded on it): the first stage that takes it."""
        for code in self.order:
            if action in self.stages[code]["actions"]:
                return self.lead(code, action).stage
        return self.first


def lead_of(action: str, declared: dict, stage: str, first: str) -> Lead:
    kind = ACTIONS[action]
    if declared.get("end"):
        return Lead("end")
    if declared.get("to") is not None:
        return Lead("to", declared["to"])
    default = first if kind.then == "first" else stage
    return Lead("consult" if "consult" in kind.leads else "wait", declared.get("then") or default)


def graph_of(version) -> FlowGraph:
    """The graph of a ProcedureVersion (its specification never changes: cached by id)."""
    cache = version.__dict__.get("_flow_graph")
    if cache is None:
        cache = version.__dict__["_flow_graph"] = FlowGraph(version.spec)
    return cache


# --- Validation -------------------------------------------------------------------------------


def flow_problems(spec) -> list[tuple[str, str]]:
    """What is wrong with a procedure's graph: (path, problem) pairs. ``spec`` is a
    validated ProcedureSpec (its stages' shapes, roles and shares already checked)."""
    problems: list[tuple[str, str]] = []
    stages = list(spec.stages)
    codes = {s.code: i for i, s in enumerate(stages)}
    first = stages[0].code
    edges: dict[str, set[str]] = {s.code: set() for s in stages}
    ends: set[str] = set()
    signs, notice_ends = [], []

    for i, stage in enumerate(stages):
        at = f"stages.{i}"
        if stage.code == CONSULT_STAGE:
            problems.append(
                (
                    f"{at}.code",
                    f"{CONSULT_STAGE!r} is the consulted units' own task; name the stage otherwise",
                )
            )
        if stage.held_by not in HOLDERS:
            problems.append(
                (
                    f"{at}.held_by",
                    f"unknown agency level {stage.held_by!r}; one of: {', '.join(HOLDERS)}",
                )
            )
        elif (
            stage.held_by in LEVELS
            and spec.agency_level in LEVELS
            and (LEVELS.index(stage.held_by) < LEVELS.index(spec.agency_level))
        ):
            problems.append(
                (
                    f"{at}.held_by",
                    f"no {stage.held_by} agency is above a {spec.agency_level} agency, "
                    "which handles this procedure",
                )
            )
        elif stage.held_by == "parent" and spec.agency_level == "central":
            problems.append((f"{at}.held_by", "a central agency has no parent agency"))
        if stage.held_by != "handling" and "sign" in stage.actions:
            problems.append(
                (
                    f"{at}.held_by",
                    "the result is signed and sealed by the handling agency: "
                    "a signing stage cannot be handed to another",
                )
            )
        if not stage.actions:
            problems.append(
                (f"{at}.actions", "the stage has no way out: give it at least one action")
            )
        for name, declared in stage.actions.items():
            declared = declared.model_dump()
            where = f"{at}.actions.{name}"
            kind = ACTIONS.get(name)
            if kind is None:
                problems.append((where, f"unknown action {name!r}; one of: {', '.join(ACTIONS)}"))
                continue
            if stage.role not in kind.roles:
                roles = ", ".join(sorted(kind.roles))
                problems.append(
                    (
                        where,
                        f"the action {name!r} is not allowed at a stage held by the role {stage.role!r} (only: {roles})",
                    )
                )
            given = {k for k in ("to", "end", "then") if declared.get(k) not in (None, False)}
            wanted = {"to"} if "to" in kind.leads else set()
            if "end" in kind.leads:
                wanted.add("end")
            if kind.leads & {"wait", "consult"}:
                wanted.add("then")
            extra = given - wanted
            if extra:
                problems.append(
                    (where, f"the action {name!r} cannot take {', '.join(sorted(extra))}")
                )
                continue
            if kind.leads <= {"to", "end"} and len(given) != 1:
                ways = " or ".join(f"{w}" for w in sorted(wanted))
                problems.append((where, f"say where the action {name!r} leads: {ways}"))
                continue
            lead = lead_of(name, declared, stage.code, first)
            if lead.kind == "end":
                ends.add(stage.code)
                if name == "approve":
                    notice_ends.append(where)
            elif lead.stage not in codes:
                key = "to" if lead.kind == "to" else "then"
                problems.append((f"{where}.{key}", f"unknown stage {lead.stage!r}"))
            else:
                edges[stage.code].add(lead.stage)
            if name == "sign":
                signs.append(where)
    if problems:
        return problems

    reachable = _reach(first, edges)
    for code, i in codes.items():
        if code not in reachable:
            problems.append(
                (
                    f"stages.{i}",
                    f"the stage {code!r} cannot be reached from the first stage {first!r}",
                )
            )
    if not ends:
        problems.append(("stages", "no action ends the flow: the procedure would never finish"))
    else:
        reverse: dict[str, set[str]] = {c: set() for c in codes}
        for src, dsts in edges.items():
            for dst in dsts:
                reverse[dst].add(src)
        finishing = set()
        for end in ends:
            finishing |= _reach(end, reverse)
        stuck = [c for c in codes if c in reachable and c not in finishing]
        if stuck:
            problems.append(
                (
                    f"stages.{codes[stuck[0]]}",
                    f"the stages {', '.join(stuck)} loop with no way to an end",
                )
            )
    problems += _state_problems(stages, codes, edges, first)
    outcome = spec.outcome
    if outcome == "notice" and signs:
        problems.append((signs[0], "a procedure whose outcome is a notice has no paper to sign"))
    if outcome in ("paper", "both") and not signs:
        problems.append(
            ("outcome", f"the outcome {outcome!r} needs a stage where the result is signed")
        )
    if outcome in ("paper", "both"):
        for where in notice_ends:
            problems.append(
                (where, "the approval cannot end the flow: the result must be signed first")
            )
    return problems


def _reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _state_problems(stages, codes, edges, first) -> list[tuple[str, str]]:
    """Each action must be possible in some state the dossier can be in on reaching its
    stage: a signature before any approval, say, never is."""
    entering: dict[str, set[str]] = {c: set() for c in codes}
    entering[first].add(SUBMITTED)
    changed = True
    while changed:
        changed = False
        for stage in stages:
            for name, declared in stage.actions.items():
                declared = declared.model_dump()
                kind = ACTIONS[name]
                possible = entering[stage.code] & kind.sources_for(stage.role)
                if not possible:
                    continue
                lead = lead_of(name, declared, stage.code, first)
                if lead.kind == "end":
                    continue
                after = {kind.result} if kind.result else possible
                if not after <= entering[lead.stage]:
                    entering[lead.stage] |= after
                    changed = True
    problems = []
    for i, stage in enumerate(stages):
        # A dossier reaching the stage in a state none of its actions takes would stay there.
        stuck = sorted(
            state
            for state in entering[stage.code]
            if not any(state in ACTIONS[name].sources_for(stage.role) for name in stage.actions)
        )
        if stuck:
            problems.append(
                (
                    f"stages.{i}",
                    f"a dossier can reach {stage.code!r} as {', '.join(stuck)}, "
                    "where none of its actions applies: it would stay there",
                )
            )
        for name in stage.actions:
            if entering[stage.code] and not (
                entering[stage.code] & ACTIONS[name].sources_for(stage.role)
            ):
                problems.append(
                    (
                        f"stages.{i}.actions.{name}",
                        f"the dossier is never in a state that allows {name!r} when it reaches {stage.code!r}",
                    )
                )
    return problems
