"""Management commands: seed_demo (twice), graph_procedure, load commands."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from procedures.models import OfficerRole
from workflows.history import verify_all
from workflows.models import Dossier, Status


@pytest.mark.django_db
def test_seed_demo_runs_twice_without_error(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "motcua-demo-2026" in out and "reception" in out and "supervisor" in out
    dossiers = Dossier.objects.count()
    roles = OfficerRole.objects.count()
    statuses = set(Dossier.objects.values_list("status", flat=True))
    assert {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.SUPPLEMENT_REQUESTED,
        Status.IN_REVIEW,
        Status.ISSUED,
        Status.REFUSED,
        # The catalog's sample procedure with a fee: appraised, waiting for the payment.
        Status.FEE_REQUESTED,
    } <= statuses
    call_command("seed_demo")
    assert Dossier.objects.count() == dossiers
    assert OfficerRole.objects.count() == roles
    assert list(verify_all()) == []


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Dossier.objects.exists()


def test_graph_procedure_mermaid(procedure, capsys):
    call_command("graph_procedure", procedure.code)
    out = capsys.readouterr().out
    # Drawn from the procedure's own graph (its stages and their actions), in Vietnamese.
    assert out.splitlines()[3] == "flowchart TD"
    assert "filed --> s_reception" in out
    assert 's_reception -->|"Tiếp nhận: hồ sơ đầy đủ, hợp lệ"| s_review' in out
    assert 's_approval -->|"Phê duyệt"| s_signing' in out
    assert 's_signing -->|"Ký duyệt kết quả"| e_issue_paper' in out
    assert 's_review -->|"Yêu cầu bổ sung, hoàn thiện hồ sơ"| w_supplement_review' in out
    assert "w_supplement_review --> s_reception" in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_procedure_svg(procedure, tmp_path):
    target = tmp_path / "graph.svg"
    call_command("graph_procedure", procedure.code, "--format", "svg", "-o", str(target))
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Tiếp nhận" in svg


def test_graph_procedure_unknown_code(catalog):
    with pytest.raises(CommandError, match="no procedure"):
        call_command("graph_procedure", "9.999999")


@pytest.mark.django_db
def test_run_periodic_jobs_once(capsys):
    call_command("run_periodic_jobs")
    assert "timers fired: 0, events dispatched: 0, warnings given: 0, messages sent: 0" in (
        capsys.readouterr().out
    )


@pytest.mark.django_db
def test_the_demo_gives_the_supervisor_early_and_late_dossiers(settings):
    from config.demo import seed_demo

    settings.DEBUG = True
    seed_demo()
    finished = set(Dossier.objects.exclude(timeliness="").values_list("timeliness", flat=True))
    assert {"early", "late"} <= finished
    assert list(verify_all()) == []
