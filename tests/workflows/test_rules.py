"""Rules found in review: scope cannot be widened, bad input never crashes, the head
decides on a proposal, versions apply from their effective date, filings are sealed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError

from procedures.models import Agency, ProcedureVersion
from procedures.roles import Role, group_name
from procedures.selectors import procedure_in_force
from tests.conftest import APPLICANT, make_officer, make_user, new_draft
from workflows import services
from workflows.exceptions import ActionNotAllowed
from workflows.models import Channel, Status
from workflows.services import dossiers as transitions


@pytest.mark.parametrize("how", ["superuser", "group", "user_permission"])
def test_global_permissions_never_reach_a_dossier(walk, how):
    dossier = walk(Status.SUBMITTED)
    user = make_user(is_superuser=(how == "superuser"), is_staff=True)
    if how == "group":
        user.groups.add(Group.objects.get(name=group_name(Role.RECEPTION)))
    elif how == "user_permission":
        user.user_permissions.add(Permission.objects.get(codename="receive_dossier"))
    with pytest.raises(PermissionDenied):
        transitions.dossier_receive(dossier=dossier, by=user)
    with pytest.raises(PermissionDenied):
        services.dossier_create(
            procedure=dossier.procedure_version.procedure,
            handling_agency=dossier.handling_agency,
            channel=Channel.DESK,
            by=user,
            applicant=APPLICANT,
        )


def test_an_officer_of_a_department_acts_for_its_committee(walk, catalog):
    dossier = walk(Status.SUBMITTED)
    department_officer = make_officer(Role.RECEPTION, Agency.objects.get(code="H22.01"))
    received = transitions.dossier_receive(dossier=dossier, by=department_officer)
    assert received.status == Status.RECEIVED
    # ...but not for the central body above the committee.
    central_department = make_officer(Role.RECEPTION, Agency.objects.get(code="G16.01"))
    with pytest.raises(PermissionDenied):
        transitions.dossier_start_review(dossier=received, by=central_department)


@pytest.mark.parametrize(
    "bad",
    [
        {"applicant": {"name": "Lò\x00Mai"}},
        {"form_data": {"full_name": "Lò\x00Mai"}},
        {"form_data": {"years_of_residence": float("nan")}},
        {"form_data": {"years_of_residence": float("inf")}},
        {"applicant": {"name": 12}},
    ],
)
def test_bad_draft_input_is_a_validation_error(procedure, province, citizen, bad):
    draft = new_draft(procedure, province, citizen, complete=False)
    with pytest.raises(ValidationError):
        services.dossier_save_draft(
            dossier=draft,
            by=citizen,
            form_data=bad.get("form_data", {}),
            applicant=bad.get("applicant"),
        )


def test_bad_action_input_is_a_validation_error(walk, officers):
    in_review = walk(Status.IN_REVIEW)
    with pytest.raises(ValidationError):
        transitions.dossier_send_back(dossier=in_review, by=officers["head"], reason="a\x00b")
    with pytest.raises(ValidationError):
        transitions.dossier_refuse(dossier=in_review, by=officers["head"], reason=["list"])
    with pytest.raises(ValidationError):
        services.dossier_reschedule(
            dossier=in_review,
            by=officers["head"],
            reason="Xác minh",
            new_due_date=dt.datetime(2099, 1, 1, 9, 0),
        )
    with pytest.raises(ValidationError):
        services.dossier_reschedule(
            dossier=in_review, by=officers["head"], reason="Xác minh", new_due_date="2099-01-01"
        )


def test_the_head_decides_only_on_a_proposal(walk, officers):
    dossier = walk(Status.RECEIVED)
    dossier = transitions.dossier_start_review(dossier=dossier, by=officers["specialist"])
    with pytest.raises(ActionNotAllowed, match="not proposed"):
        transitions.dossier_approve(dossier=dossier, by=officers["head"])
    dossier = transitions.dossier_propose(
        dossier=dossier, by=officers["specialist"], decision="approve", opinion="Đủ điều kiện"
    )
    dossier = transitions.dossier_send_back(dossier=dossier, by=officers["head"], reason="Xem lại")
    with pytest.raises(ActionNotAllowed, match="not proposed"):
        transitions.dossier_refuse(dossier=dossier, by=officers["head"], reason="Không đủ")
    dossier = transitions.dossier_propose(
        dossier=dossier, by=officers["specialist"], decision="approve", opinion="Đã xem lại"
    )
    assert (
        transitions.dossier_approve(dossier=dossier, by=officers["head"]).status == Status.APPROVED
    )


def test_a_version_applies_only_from_its_effective_date(procedure, province, citizen):
    current = procedure.current_version
    future = ProcedureVersion.objects.create(
        procedure=procedure,
        number=current.number + 1,
        content_hash="f" * 64,
        source_file="future.yaml",
        effective_from=dt.date(2999, 1, 1),
        name=current.name,
        name_en=current.name_en,
        sector=current.sector,
        agency_level=current.agency_level,
        time_limit_days=99,
        online_level=current.online_level,
        fee=current.fee,
        spec=current.spec,
    )
    procedure.current_version = future
    procedure.save()
    draft = new_draft(procedure, province, citizen, complete=False)
    assert draft.procedure_version_id == current.pk
    # The API's read of a procedure with its version in force, in one query, agrees.
    today = dt.date.today()
    found, version = procedure_in_force(procedure.code, today)
    assert found == procedure and version == current and version.procedure is found
    assert procedure_in_force(procedure.code, dt.date(2999, 1, 1))[1] == future
    assert procedure_in_force("9.999999", today) == (None, None)
    procedure.is_active = False
    procedure.save()
    assert procedure_in_force(procedure.code, today) == (procedure, None)


def test_a_supplement_stops_the_clock(walk, officers):
    dossier = walk(Status.IN_REVIEW)
    assert dossier.due_date is not None
    code = dossier.procedure_version.spec["components"][0]["code"]
    dossier = transitions.dossier_request_supplement(
        dossier=dossier,
        by=officers["specialist"],
        reason="Bổ sung",
        items=[{"code": code, "reason": "Thiếu"}],
    )
    assert dossier.due_date is None
    entry = dossier.history.order_by("-seq").first()
    assert entry.data["cleared_due_date"] is not None


def test_a_desk_officer_can_withdraw_for_a_walk_in(procedure, province, officers):
    from workflows.demo import attach_all, sample_form_data

    desk = officers["reception"]
    dossier = services.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel=Channel.DESK,
        by=desk,
        applicant=APPLICANT,
        form_data=sample_form_data(procedure.current_version.spec),
    )
    attach_all(dossier, desk)
    dossier = transitions.dossier_submit(dossier=dossier, by=desk)
    assert transitions.dossier_withdraw(dossier=dossier, by=desk).status == Status.WITHDRAWN


def test_the_filing_is_sealed_into_the_history(walk):
    dossier = walk(Status.SUBMITTED)
    entry = dossier.history.get(action="submit")
    files = {c.component_code: c.sha256 for c in dossier.components.all()}
    assert {c["code"]: c["sha256"] for c in entry.data["components"]} == files
    assert len(entry.data["form_sha256"]) == 64


def test_private_files_have_no_url(walk):
    component = walk(Status.DRAFT).components.first()
    with pytest.raises(ValueError, match="no URL"):
        component.file.url  # noqa: B018


def _items(dossier, index=0, reason="Thiếu"):
    return [{"code": dossier.procedure_version.spec["components"][index]["code"], "reason": reason}]


def test_a_supplement_is_requested_once_at_the_desk(walk, officers, citizen):
    """Decree 61 art. 15: the applicant is told once, completely, what to add or fix."""
    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
    with pytest.raises(ActionNotAllowed, match="already requested at the desk"):
        transitions.dossier_request_supplement(
            dossier=dossier, by=officers["reception"], reason="Lần hai", items=_items(dossier, 1)
        )
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED and dossier.supplement_round == 1
    assert dossier.history.filter(action="request_supplement").count() == 1
    # The desk receives it (or refuses it with reasons) instead.
    assert transitions.dossier_receive(dossier=dossier, by=officers["reception"]).code


def test_a_supplement_after_appraisal_is_requested_once(walk, officers, citizen):
    """Domain.md, step 6: appraisal may ask once within 3 working days of receipt, even when
    the desk asked before; a second request after appraisal is refused."""
    dossier = walk(Status.SUPPLEMENT_REQUESTED)  # the desk's one request
    dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    dossier = transitions.dossier_start_review(dossier=dossier, by=officers["specialist"])
    dossier = transitions.dossier_request_supplement(
        dossier=dossier, by=officers["specialist"], reason="Thẩm định", items=_items(dossier)
    )
    assert dossier.status == Status.SUPPLEMENT_REQUESTED and dossier.supplement_round == 2
    dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    dossier = transitions.dossier_start_review(dossier=dossier, by=officers["specialist"])
    with pytest.raises(ActionNotAllowed, match="only once"):
        transitions.dossier_request_supplement(
            dossier=dossier, by=officers["specialist"], reason="Lần hai", items=_items(dossier)
        )
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW and dossier.supplement_round == 2
