"""Every transition from every state: allowed where declared, refused everywhere else,
and each one only for the actor its permission names."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied

from tests.conftest import make_user
from workflows import services
from workflows.clock import working_calendar
from workflows.exceptions import ActionNotAllowed
from workflows.models import CLOCK_RUNNING, WITHDRAWABLE, Dossier, Status
from workflows.services import dossiers as transitions
from workflows.services import retention


@pytest.fixture
def walk(transition_walk):
    """This file tests the state machine, the history chain or the outbox themselves: its
    dossiers are walked by the transitions, each step one entry and its messages."""
    return transition_walk


def _later_working_day(dossier) -> dt.date:
    """A working day a few weeks after the appointment (within the reschedule bound)."""
    calendar = working_calendar()
    day = (dossier.due_date or calendar.today()) + dt.timedelta(days=21)
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


@dataclass(frozen=True)
class Action:
    run: object  # (dossier, by) -> dossier
    actor: str | dict  # key in the actors mapping ("system" = by None), or one per state
    sources: tuple
    target: str | None  # None: stays where it is
    fsm_names: tuple


def _supplement(d, by):
    code = d.procedure_version.spec["components"][0]["code"]
    return transitions.dossier_request_supplement(
        dossier=d, by=by, reason="Thiếu", items=[{"code": code, "reason": "mờ"}]
    )


def _resume_after_fee(d, by):
    """The flow's step once the fee is paid (workflows.services.fees): here with the fee
    marked paid directly, as the walk has no flow to resume."""
    from django.utils import timezone

    from workflows.models import Fee
    from workflows.services import fees

    fee = Fee.objects.filter(dossier=d).first()
    if fee is not None and d.status == Status.FEE_REQUESTED:
        now = timezone.now()
        Fee.objects.filter(pk=fee.pk).update(
            status="paid", paid_at=now, recorded_at=now, amount_paid=fee.amount_due
        )
        fee.refresh_from_db()
    return fees.dossier_resume_after_fee(dossier=d, fee=fee or Fee(dossier=d, amount_due=0), by=by)


def _request_fee(d, by):
    from workflows.services import fees

    return fees.dossier_request_fee(dossier=d, by=by)


# Actions that need a procedure with a fee (the catalog's sample one).
FEE_ACTIONS = ("request_fee", "resume_after_fee")

# Far enough ahead that any draft counts as abandoned.
ABANDONED = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

ACTIONS = {
    "submit": Action(
        lambda d, by: transitions.dossier_submit(dossier=d, by=by),
        "citizen",
        (Status.DRAFT,),
        Status.SUBMITTED,
        ("submit",),
    ),
    "receive": Action(
        lambda d, by: transitions.dossier_receive(dossier=d, by=by),
        "reception",
        (Status.SUBMITTED,),
        Status.RECEIVED,
        ("receive",),
    ),
    # One service, two transitions: at the desk before reception, or during appraisal.
    "request_supplement": Action(
        _supplement,
        {Status.SUBMITTED: "reception", Status.IN_REVIEW: "specialist"},
        (Status.SUBMITTED, Status.IN_REVIEW),
        Status.SUPPLEMENT_REQUESTED,
        ("request_supplement_at_reception", "request_supplement_after_review"),
    ),
    "resubmit": Action(
        lambda d, by: transitions.dossier_resubmit(dossier=d, by=by),
        "citizen",
        (Status.SUPPLEMENT_REQUESTED,),
        Status.SUBMITTED,
        ("resubmit",),
    ),
    "reject_at_reception": Action(
        lambda d, by: transitions.dossier_reject_at_reception(
            dossier=d, by=by, reason="Sai thẩm quyền"
        ),
        "reception",
        (Status.SUBMITTED,),
        Status.REJECTED_AT_RECEPTION,
        ("reject_at_reception",),
    ),
    "withdraw": Action(
        lambda d, by: transitions.dossier_withdraw(dossier=d, by=by),
        "citizen",
        tuple(WITHDRAWABLE),
        Status.WITHDRAWN,
        ("withdraw",),
    ),
    "start_review": Action(
        lambda d, by: transitions.dossier_start_review(dossier=d, by=by),
        "specialist",
        (Status.RECEIVED,),
        Status.IN_REVIEW,
        ("start_review",),
    ),
    "propose": Action(
        lambda d, by: transitions.dossier_propose(
            dossier=d, by=by, decision="approve", opinion="Đủ điều kiện"
        ),
        "specialist",
        (Status.IN_REVIEW,),
        None,
        ("propose",),
    ),
    "send_back": Action(
        lambda d, by: transitions.dossier_send_back(dossier=d, by=by, reason="Thẩm định lại"),
        "head",
        (Status.IN_REVIEW,),
        None,
        ("send_back",),
    ),
    "approve": Action(
        lambda d, by: transitions.dossier_approve(dossier=d, by=by),
        "head",
        (Status.IN_REVIEW,),
        Status.APPROVED,
        ("approve",),
    ),
    "refuse": Action(
        lambda d, by: transitions.dossier_refuse(dossier=d, by=by, reason="Không đủ"),
        "head",
        (Status.IN_REVIEW,),
        Status.REFUSED,
        ("refuse",),
    ),
    "sign": Action(
        lambda d, by: transitions.dossier_sign(dossier=d, by=by),
        "signer",
        (Status.APPROVED,),
        Status.SIGNED,
        ("sign",),
    ),
    "issue": Action(
        lambda d, by: transitions.dossier_issue(dossier=d, by=by),
        "system",
        (Status.SIGNED,),
        Status.ISSUED,
        ("issue",),
    ),
    # The retention job's step for an abandoned draft (workflows.services.retention), judged
    # once its draft days have passed.
    "discard": Action(
        lambda d, by: retention.dossier_discard(dossier=d, by=by, as_of=ABANDONED),
        "system",
        (Status.DRAFT,),
        Status.DISCARDED,
        ("discard",),
    ),
    "reschedule": Action(
        lambda d, by: services.dossier_reschedule(
            dossier=d, by=by, new_due_date=_later_working_day(d), reason="Cần xác minh thêm"
        ),
        "head",
        tuple(CLOCK_RUNNING),
        None,
        ("reschedule",),
    ),
    "request_fee": Action(
        _request_fee, "specialist", (Status.IN_REVIEW,), Status.FEE_REQUESTED, ("request_fee",)
    ),
    "resume_after_fee": Action(
        _resume_after_fee,
        "system",
        (Status.FEE_REQUESTED,),
        Status.IN_REVIEW,
        ("resume_after_fee",),
    ),
}


def _walk_for(name, walk, state):
    # Past the approval a fee must have been paid, which needs the flow: the free
    # procedure stands in there (the fee actions are refused in those states anyway).
    if name in FEE_ACTIONS and state not in (Status.APPROVED, Status.SIGNED, Status.ISSUED):
        from procedures.models import Procedure
        from tests.conftest import FEE_SAMPLE

        return walk(state, Procedure.objects.get(code=FEE_SAMPLE))
    return walk(state)


def declared_transitions() -> list[tuple[str, str, str]]:
    """(source, target, transition name) for every transition the model declares."""
    field = Dossier._meta.get_field("status")
    edges = []
    for t in field.get_all_transitions(Dossier):
        if t.target is None or t.source == "*":
            continue
        targets = [t.source] if not isinstance(t.target, str) else [t.target]
        for target in targets:
            edges.append((t.source, target, t.name))
    return sorted(set(edges))


def test_the_table_matches_the_declared_state_machine():
    declared: dict[str, set[str]] = {}
    for source, _target, name in declared_transitions():
        declared.setdefault(name, set()).add(source)
    # Issued from "approved" only where the procedure's outcome is a notice (no paper to
    # sign): the catalog's procedures all end with a signed paper; the notice's own walk is
    # tests/workflows/test_flow_data.py.
    declared["issue"].discard(Status.APPROVED)
    tabled: dict[str, set[str]] = {}
    for action in ACTIONS.values():
        if len(action.fsm_names) == 1:
            tabled.setdefault(action.fsm_names[0], set()).update(action.sources)
        else:  # one transition per source state, in the same order
            for state, name in zip(action.sources, action.fsm_names, strict=True):
                tabled.setdefault(name, set()).add(state)
    assert tabled == declared


def actor_for(action: Action, state: str) -> str:
    return action.actor[state] if isinstance(action.actor, dict) else action.actor


@pytest.fixture
def actors(officers, citizen, province):
    from django.contrib.auth import get_user_model

    from procedures.models import OfficerRole
    from procedures.roles import Role

    every_role = make_user()
    for role in Role.values:
        OfficerRole.objects.create(user=every_role, agency=province, role=role)
    every_role = get_user_model().objects.get(pk=every_role.pk)
    return {**officers, "citizen": citizen, "system": None, "every_role": every_role}


@pytest.mark.django_db
@pytest.mark.parametrize("state", Status.values)
@pytest.mark.parametrize("name", ACTIONS)
def test_every_action_from_every_state(name, state, walk, actors, monkeypatch):
    action = ACTIONS[name]
    if name == "reschedule":
        # Any working day after the due date will do; the test is about the state.
        monkeypatch.setattr("workflows.clock.WorkingCalendar.is_working_day", lambda s, d: True)
    dossier = _walk_for(name, walk, state)
    history_before = dossier.history_count
    if state in action.sources:
        by = actors[actor_for(action, state)]
        after = action.run(dossier, by)
        assert after.status == (action.target or state)
        assert after.history_count == history_before + 1
        entry = after.history.order_by("-seq").first()
        assert (entry.from_status, entry.to_status) == (state, after.status)
    else:
        # Someone who may do anything here, so only the state can be what stops them.
        by = {"citizen": actors["citizen"], "system": None}.get(
            actor_for(action, action.sources[0]), actors["every_role"]
        )
        with pytest.raises(ActionNotAllowed):
            action.run(dossier, by)
        dossier.refresh_from_db()
        assert dossier.status == state
        assert dossier.history_count == history_before


ROLES_AND_PEOPLE = [
    "reception",
    "specialist",
    "head",
    "signer",
    "supervisor",
    # An API client's service account: it acts only on the dossiers it filed itself.
    "integration",
    "citizen",
    "other_citizen",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ACTIONS)
def test_each_action_only_for_its_actor(name, walk, actors, outsiders, monkeypatch):
    monkeypatch.setattr("workflows.clock.WorkingCalendar.is_working_day", lambda s, d: True)
    action = ACTIONS[name]
    people = {**actors, "other_citizen": make_user()}
    states = action.sources if isinstance(action.actor, dict) else action.sources[:1]
    for state in states:
        dossier = _walk_for(name, walk, state)
        actor = actor_for(action, state)
        wrong = [p for p in ROLES_AND_PEOPLE if p != actor]
        if actor != "system":
            wrong.append("system")
        for who in wrong:
            with pytest.raises(PermissionDenied):
                action.run(dossier, people[who])
        if actor in outsiders:
            # The right role, but in another province.
            with pytest.raises(PermissionDenied):
                action.run(dossier, outsiders[actor])
        dossier.refresh_from_db()
        assert dossier.status == state
        assert dossier.history_count == dossier.history.count()
        after = action.run(dossier, people[actor])
        assert after.status == (action.target or state)


@pytest.mark.django_db
def test_supervisor_of_the_parent_agency_reaches_the_subtree(walk, catalog):
    from procedures.models import Agency
    from tests.conftest import make_officer

    dossier = walk(Status.SUBMITTED)
    central_supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    assert central_supervisor.has_perm("workflows.view_dossier", dossier)
    assert not central_supervisor.has_perm("workflows.receive_dossier", dossier)
    central_reception = make_officer("reception", Agency.objects.get(code="G16"))
    # Reception is not a subtree role: the central desk does not receive provincial dossiers.
    assert not central_reception.has_perm("workflows.receive_dossier", dossier)


def test_condition_memos_nest():
    from workflows.models import Dossier, conditions_memoised

    dossier = Dossier()
    with conditions_memoised(dossier):
        outer = dossier._condition_memo
        with conditions_memoised(dossier):
            assert dossier._condition_memo is not outer
        assert dossier._condition_memo is outer
    assert not hasattr(dossier, "_condition_memo")
