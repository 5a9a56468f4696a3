"""A dossier keeps the procedure version it was filed under."""

import shutil
from pathlib import Path

import yaml
from django.conf import settings

from procedures.loader import load_procedures
from tests.conftest import walk_to
from workflows.models import Status
from workflows.services import dossiers as transitions


def test_a_dossier_keeps_its_procedure_version(procedure, province, citizen, officers, tmp_path):
    dossier = walk_to(Status.SUBMITTED, procedure, province, citizen, officers)
    filed_under = dossier.procedure_version
    assert filed_under.time_limit_days == 15

    catalog = tmp_path / "catalog"
    shutil.copytree(Path(settings.MOTCUA["CATALOG_DIR"]), catalog)
    path = catalog / "prestigious-person-recognition.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["time_limit_days"] = 30
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load_procedures(catalog)
    procedure.refresh_from_db()
    assert procedure.current_version.time_limit_days == 30

    received = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    assert received.procedure_version_id == filed_under.pk
    # The clock uses the filed version's 15 days, not the new 30.
    from workflows.clock import working_calendar

    assert received.due_date == working_calendar().due_date(received.received_at, 15)
