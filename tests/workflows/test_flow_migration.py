"""Upgrading a database whose dossiers ran on the two flow classes once written in Python
(workflows 0027): their processes and tasks move to the one generic flow, and a dossier
waiting on its way goes on where it stood."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

from django.apps import apps
from django.db import connection

from tests.conftest import attach_all, complete_stage, open_stage_task, walk_to
from workflows.models import DossierTask, Status
from workflows.services import work

migration = importlib.import_module("workflows.migrations.0027_one_generic_flow")
OLD = "workflows/flows.StandardFlow"


def as_before_the_upgrade(dossier) -> None:
    """The dossier's rows as the old flow class wrote them: its class, its nodes (a stage
    task per stage name, a gateway per stage), and no data the old nodes never wrote."""
    process = dossier.process
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE viewflow_process SET flow_class = %s WHERE id = %s", [OLD, process.pk]
        )
    for task in DossierTask.objects.filter(process=process):
        name = task.flow_task.name
        old = {"stage": task.stage, "route": "after_review"}.get(name, name)
        data = {k: v for k, v in task.data.items() if k not in ("then", "from_agency", "stage")}
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE viewflow_task SET flow_task = %s, data = %s WHERE id = %s",
                [f"{OLD}.{old}", json.dumps(data), task.pk],
            )


def test_a_dossier_waiting_for_a_supplement_goes_on_after_the_upgrade(
    procedure, province, citizen, officers
):
    dossier = walk_to(Status.RECEIVED, procedure, province, citizen, officers)
    component = procedure.current_version.spec["components"][0]["code"]
    dossier = complete_stage(
        dossier,
        "supplement",
        officers["specialist"],
        reason="Thiếu",
        items=[{"code": component, "reason": "Mờ"}],
    )
    as_before_the_upgrade(dossier)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM viewflow_task WHERE flow_task LIKE %s", [f"{OLD}.%"])
        assert cursor.fetchone()[0] > 0
    # The migration's step as migrate runs it (it uses only the editor's connection).
    migration.forward(apps, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM viewflow_task WHERE flow_task LIKE %s", [f"{OLD}.%"])
        assert cursor.fetchone()[0] == 0
    dossier.process.refresh_from_db()
    assert dossier.process.flow_class.__name__ == "DossierFlow"

    # The answer goes to the desk, as the old flow sent it, and the dossier finishes.
    attach_all(dossier, citizen)
    dossier = work.application_resubmit(dossier=dossier, by=citizen)
    assert open_stage_task(dossier).stage == "reception"
    for action, role, form in (
        ("accept", "reception", {}),
        ("propose", "specialist", {"decision": "approve", "opinion": "Đủ"}),
        ("approve", "head", {}),
        ("sign", "signer", {}),
    ):
        dossier = complete_stage(dossier, action, officers[role], **form)
    assert dossier.status == Status.ISSUED
