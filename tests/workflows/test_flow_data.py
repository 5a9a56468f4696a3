"""Flows as data (issue #13): a procedure whose shape no catalog file has runs from its
YAML alone, through the officers' pages, across three agencies; two versions with
different graphs run side by side."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from documents.content import control_sheet
from documents.models import Document, Kind
from procedures.loader import load_procedures
from procedures.models import Agency, Procedure
from tests.conftest import attach_all, make_officer, new_draft, sign_in
from workflows.clock import working_calendar
from workflows.models import Dossier, DossierTask, HistoryEntry, Status
from workflows.services import fees, work

FLOW_FILES = Path(__file__).parent / "flow_files"
FILE = "commune-district-province-notice.yaml"
CODE = "THU.LT.001"
CATALOG = Path(__file__).resolve().parents[2] / "procedures" / "catalog"


def load_with(tmp_path: Path, *texts: str) -> None:
    """The shipped catalog and the test file (``texts`` replace it, one load each)."""
    directory = tmp_path / "catalog"
    directory.mkdir(exist_ok=True)
    for path in CATALOG.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    for text in texts or ((FLOW_FILES / FILE).read_text("utf-8"),):
        (directory / FILE).write_text(text, "utf-8")
        load_procedures(directory)


@pytest.fixture
def tree(province):
    """A district under the province and a commune under the district."""
    district = Agency.objects.create(
        code="H22.90",
        name="Ủy ban nhân dân huyện Thử",
        kind="district",
        parent=province,
        province=province.province,
        path=f"{province.path}H22.90/",
    )
    commune = Agency.objects.create(
        code="H22.90.01",
        name="Ủy ban nhân dân xã Thử",
        kind="commune",
        parent=district,
        province=province.province,
        path=f"{district.path}H22.90.01/",
    )
    return {"province": province, "district": district, "commune": commune}


@pytest.fixture
def people(tree):
    return {
        "desk": make_officer("reception", tree["commune"]),
        "specialist": make_officer("specialist", tree["district"]),
        "head": make_officer("head", tree["province"]),
        # The province's own specialist must not see the district's stage.
        "province_specialist": make_officer("specialist", tree["province"]),
    }


@pytest.fixture
def liên_thông(tree, tmp_path):
    load_with(tmp_path)
    return Procedure.objects.get(code=CODE)


def open_task(dossier: Dossier) -> DossierTask:
    return DossierTask.objects.get(
        dossier=dossier, task_status__in=("NEW", "ASSIGNED"), role__gt=""
    )


def from_queue(client, user, dossier, stage) -> DossierTask:
    """The officer finds the task in their queue page, by its link, and claims it there."""
    sign_in(client, user)
    page = client.get(reverse("workspace:queue"), {"stage": stage, "q": f"#{dossier.pk}"})
    assert page.status_code == 200
    ids = re.findall(r'href="/workspace/tasks/(\d+)/"', page.content.decode())
    assert len(ids) == 1, page.content.decode()[:3000]
    task = DossierTask.objects.get(pk=int(ids[0]))
    assert task.dossier_id == dossier.pk and task.stage == stage
    assert client.post(reverse("workspace:claim", args=[task.pk])).status_code == 302
    return task


def post_action(client, task, action, **fields) -> None:
    data = {"action": action, **{f"{action}-{k}": v for k, v in fields.items()}}
    response = client.post(reverse("workspace:act", args=[task.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_a_new_shape_walks_end_to_end_through_the_pages(client, liên_thông, tree, people, citizen):
    version = liên_thông.current_version
    assert [s["held_by"] for s in version.spec["stages"]] == [
        "handling",
        "district",
        "district",
        "province",
    ]
    dossier = work.application_submit(
        dossier=new_draft(liên_thông, tree["commune"], citizen), by=citizen
    )
    task = open_task(dossier)
    assert (task.stage, task.agency) == ("commune_desk", tree["commune"])

    # The commune's desk receives; the dossier passes to the district.
    task = from_queue(client, people["desk"], dossier, "commune_desk")
    page = client.get(reverse("workspace:task", args=[task.pk])).content.decode()
    assert "Tiếp nhận tại Ủy ban nhân dân xã" in page
    post_action(client, task, "accept", comment="Đủ thành phần")
    task = open_task(dossier)
    assert (task.stage, task.agency, task.role) == (
        "district_inspection",
        tree["district"],
        "specialist",
    )
    # Offered to the district's specialists only: the province's own sees nothing.
    sign_in(client, people["province_specialist"])
    page = client.get(reverse("workspace:queue"), {"q": f"#{dossier.pk}"}).content.decode()
    assert f"/workspace/tasks/{task.pk}/" not in page

    # The citizen's page says where the dossier is now.
    sign_in(client, citizen)
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Kiểm tra thực địa (cấp huyện) — Ủy ban nhân dân huyện Thử" in page

    # A supplement round: the district asks, the citizen answers, the commune's desk
    # checks the answer again.
    task = from_queue(client, people["specialist"], dossier, "district_inspection")
    component = version.spec["components"][0]["code"]
    post_action(
        client,
        task,
        "supplement",
        reason="Thiếu xác nhận",
        **{f"item_{component}": "on", f"why_{component}": "Chưa ký"},
    )
    dossier.refresh_from_db()
    assert dossier.status == Status.SUPPLEMENT_REQUESTED
    attach_all(dossier, citizen)
    dossier = work.application_resubmit(dossier=dossier, by=citizen, comment="Đã ký")
    assert (open_task(dossier).stage, open_task(dossier).agency) == (
        "commune_desk",
        tree["commune"],
    )
    task = from_queue(client, people["desk"], dossier, "commune_desk")
    post_action(client, task, "accept")

    # The district inspects the site, then appraises and asks for the fee.
    task = from_queue(client, people["specialist"], dossier, "district_inspection")
    today = working_calendar().today()
    post_action(
        client,
        task,
        "inspect",
        day=today.isoformat(),
        place="Thôn Bản Thử",
        findings="Hiện trạng đúng như kê khai",
    )
    task = from_queue(client, people["specialist"], dossier, "district_appraisal")
    page = client.get(reverse("workspace:task", args=[task.pk])).content.decode()
    assert "Yêu cầu nộp phí" in page or "Request the fee payment" in page
    post_action(client, task, "request_fee")
    dossier.refresh_from_db()
    assert dossier.status == Status.FEE_REQUESTED

    # The commune's desk confirms the payment made there; the appraisal resumes.
    sign_in(client, people["desk"])
    response = client.post(
        reverse("workspace:fee_confirm", args=[dossier.pk]),
        {"channel": "desk", "reference": "BL-0001"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW
    task = from_queue(client, people["specialist"], dossier, "district_appraisal")
    post_action(client, task, "propose", decision="approve", opinion="Đủ điều kiện")

    # The province decides: the outcome is a notice, with no paper to sign.
    task = from_queue(client, people["head"], dossier, "province_decision")
    assert task.agency == tree["province"]
    page = client.get(reverse("workspace:task", args=[task.pk])).content.decode()
    assert "Ký duyệt kết quả" not in page
    post_action(client, task, "approve", comment="Chấp thuận")
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    assert not Document.objects.filter(dossier=dossier, kind=Kind.RESULT).exists()
    assert dossier.process.status == "DONE"

    # The history shows each hand-over between agencies, in order.
    handed = [
        (e.data["from"], e.data["to"])
        for e in HistoryEntry.objects.filter(dossier=dossier, action="hand_over").order_by("seq")
    ]
    assert handed == [
        ("H22.90.01", "H22.90"),  # received: to the district's inspection
        ("H22.90", "H22.90.01"),  # the supplement answered: back to the commune's desk
        ("H22.90.01", "H22.90"),
        ("H22.90", "H22"),  # proposed: to the province
    ]
    assert (
        HistoryEntry.objects.filter(dossier=dossier, action="inspection").get().data["place"]
        == "Thôn Bản Thử"
    )
    # The clock: every stage's task has its agency, its due date and how it finished.
    stages = DossierTask.objects.filter(dossier=dossier, role__gt="").order_by("pk")
    assert [t.agency.code for t in stages] == [
        "H22.90.01",
        "H22.90",
        "H22.90.01",
        "H22.90",
        "H22.90",
        "H22.90",
        "H22",
    ]
    assert all(t.due_date and t.timeliness for t in stages)
    # The control sheet names each unit that gave and took the dossier.
    rows = control_sheet(dossier, {})["rows"]
    assert [r["unit"] for r in rows][-1] == tree["province"].name
    assert {r["from"] for r in rows} >= {"Kiểm tra thực địa (cấp huyện)", "Quyết định của cấp tỉnh"}

    # The citizen sees the notice and the way the dossier went.
    sign_in(client, citizen)
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Thông báo chấp thuận đề nghị" in page
    assert "Ủy ban nhân dân huyện Thử" in page
    assert reverse("portal:result", args=[dossier.pk]) not in page


def pay_at_desk(dossier, desk) -> None:
    fee = fees.fee_for_dossier(dossier=dossier)
    assert fees.fee_confirm_at_desk(fee=fee, by=desk, reference=f"BL-{dossier.pk}")


def _to_decision(dossier, people) -> Dossier:
    """Through the same public services the pages call."""
    steps = [
        ("desk", "accept", {}),
        (
            "specialist",
            "inspect",
            {"day": working_calendar().today(), "place": "Thôn", "findings": "Đúng"},
        ),
        ("specialist", "request_fee", {}),
    ]
    for who, action, form in steps:
        task = open_task(dossier)
        work.task_claim(task=task, by=people[who])
        dossier = work.task_complete(task=task, by=people[who], action=action, form=form)
    pay_at_desk(dossier, people["desk"])
    task = open_task(dossier)
    work.task_claim(task=task, by=people["specialist"])
    return work.task_complete(
        task=task,
        by=people["specialist"],
        action="propose",
        form={"decision": "refuse", "opinion": "Không đủ điều kiện"},
    )


def test_the_refusal_branch_ends_the_flow(liên_thông, tree, people, citizen):
    dossier = work.application_submit(
        dossier=new_draft(liên_thông, tree["commune"], citizen), by=citizen
    )
    dossier = _to_decision(dossier, people)
    task = open_task(dossier)
    assert task.stage == "province_decision"
    work.task_claim(task=task, by=people["head"])
    dossier = work.task_complete(
        task=task, by=people["head"], action="refuse", form={"reason": "Không thuộc đối tượng"}
    )
    assert dossier.status == Status.REFUSED
    assert dossier.process.status == "DONE"
    assert not DossierTask.objects.filter(dossier=dossier, task_status="NEW").exists()


def test_an_action_the_stage_does_not_declare_is_refused(liên_thông, tree, people, citizen):
    dossier = work.application_submit(
        dossier=new_draft(liên_thông, tree["commune"], citizen), by=citizen
    )
    task = open_task(dossier)
    work.task_claim(task=task, by=people["desk"])
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="does not belong to this stage"):
        work.task_complete(task=task, by=people["desk"], action="approve")


def test_a_commune_with_no_district_above_cannot_handle_it(liên_thông, tree, citizen):
    lone = Agency.objects.create(
        code="H22.91",
        name="Xã không có huyện",
        kind="commune",
        parent=tree["province"],
        province="Lào Cai",
        path=f"{tree['province'].path}H22.91/",
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="does not handle"):
        new_draft(liên_thông, lone, citizen)


def test_two_versions_with_different_graphs_both_finish(tree, people, citizen, tmp_path):
    first = (FLOW_FILES / FILE).read_text("utf-8")
    # Version 2 drops the field inspection: the district appraises straight away.
    data = yaml.safe_load(first)
    data["stages"] = [s for s in data["stages"] if s["code"] != "district_inspection"]
    data["stages"][0]["actions"]["accept"] = {"to": "district_appraisal"}
    data["stages"][1]["share"] = 60
    second = yaml.safe_dump(data, allow_unicode=True)

    load_with(tmp_path, first)
    procedure = Procedure.objects.get(code=CODE)
    old = work.application_submit(
        dossier=new_draft(procedure, tree["commune"], citizen), by=citizen
    )
    task = open_task(old)
    work.task_claim(task=task, by=people["desk"])
    old = work.task_complete(task=task, by=people["desk"], action="accept")
    assert open_task(old).stage == "district_inspection"

    load_with(tmp_path, second)
    procedure.refresh_from_db()
    assert procedure.current_version.number == 2
    new = work.application_submit(
        dossier=new_draft(procedure, tree["commune"], citizen), by=citizen
    )
    assert (old.procedure_version.number, new.procedure_version.number) == (1, 2)

    # The old dossier keeps version 1's graph (its inspection), the new one runs version 2's.
    for dossier, expected in ((old, "district_inspection"), (new, None)):
        if expected is None:
            task = open_task(dossier)
            work.task_claim(task=task, by=people["desk"])
            dossier = work.task_complete(task=task, by=people["desk"], action="accept")
        stage = open_task(dossier).stage
        assert stage == (expected or "district_appraisal")
        if stage == "district_inspection":
            task = open_task(dossier)
            work.task_claim(task=task, by=people["specialist"])
            dossier = work.task_complete(
                task=task,
                by=people["specialist"],
                action="inspect",
                form={"day": working_calendar().today(), "place": "Thôn", "findings": "Đúng"},
            )
        task = open_task(dossier)
        work.task_claim(task=task, by=people["specialist"])
        dossier = work.task_complete(task=task, by=people["specialist"], action="request_fee")
        pay_at_desk(dossier, people["desk"])
        task = open_task(dossier)
        work.task_claim(task=task, by=people["specialist"])
        dossier = work.task_complete(
            task=task,
            by=people["specialist"],
            action="propose",
            form={"decision": "approve", "opinion": "Đủ"},
        )
        task = open_task(dossier)
        work.task_claim(task=task, by=people["head"])
        dossier = work.task_complete(task=task, by=people["head"], action="approve")
        assert dossier.status == Status.ISSUED
    stages_old = list(
        DossierTask.objects.filter(dossier=old, role__gt="").values_list("stage", flat=True)
    )
    stages_new = list(
        DossierTask.objects.filter(dossier=new, role__gt="").values_list("stage", flat=True)
    )
    assert "district_inspection" in stages_old and "district_inspection" not in stages_new


def test_the_procedure_page_shows_the_steps_to_expect(client, liên_thông):
    page = client.get(reverse("portal:procedure", args=[CODE])).content.decode()
    steps = re.search(r'<ol class="steps">(.*?)</ol>', page, re.S).group(1)
    names = re.findall(r"<strong>(.*?)</strong>", steps)
    assert names == [
        "Tiếp nhận tại Ủy ban nhân dân xã",
        "Kiểm tra thực địa (cấp huyện)",
        "Thẩm định và thu phí (cấp huyện)",
        "Quyết định của cấp tỉnh",
        "Bạn nhận thông báo kết quả",
    ]
    assert "cấp huyện, 30% thời hạn giải quyết" in steps
    assert "Chờ người nộp nộp phí, lệ phí" in steps


def test_a_wrong_inspection_is_refused_field_by_field_and_typed_text_kept(
    client, liên_thông, tree, people, citizen
):
    import datetime as dt

    dossier = work.application_submit(
        dossier=new_draft(liên_thông, tree["commune"], citizen), by=citizen
    )
    task = open_task(dossier)
    work.task_claim(task=task, by=people["desk"])
    work.task_complete(task=task, by=people["desk"], action="accept")
    task = from_queue(client, people["specialist"], dossier, "district_inspection")
    tomorrow = working_calendar().today() + dt.timedelta(days=1)
    response = client.post(
        reverse("workspace:act", args=[task.pk]),
        {
            "action": "inspect",
            "inspect-day": tomorrow.isoformat(),
            "inspect-place": "Thôn Bản Thử",
            "inspect-findings": "Ghi chép dài của cán bộ",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ngày kiểm tra không được sau ngày hôm nay." in page
    assert "Ghi chép dài của cán bộ" in page and "Thôn Bản Thử" in page
    response = client.post(
        reverse("workspace:act", args=[task.pk]),
        {
            "action": "inspect",
            "inspect-day": "not a date",
            "inspect-place": "",
            "inspect-findings": "",
        },
    )
    assert response.status_code == 400
    assert open_task(dossier).stage == "district_inspection"
    assert not HistoryEntry.objects.filter(dossier=dossier, action="inspection").exists()
