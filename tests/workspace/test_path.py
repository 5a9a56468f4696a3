"""The full officer path through Django's test client, with demo data: reception asks for
a supplement, the citizen resubmits, then review, approval and signing to issue."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from config.demo import seed_demo
from tests.conftest import SIGNER_PASSWORD, give_certificate, sign_in
from workflows.demo import sample_form_data, sample_upload
from workflows.models import Dossier, DossierTask, Status


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    return seed_demo()


def queue_task(client, stage, code=None):
    """Find the task in the queue page as an officer would: by its link."""
    page = client.get(reverse("workspace:queue"), {"stage": stage, "q": code or ""})
    assert page.status_code == 200
    ids = re.findall(r'href="/workspace/tasks/(\d+)/"', page.content.decode())
    assert ids, page.content.decode()[:2000]
    return DossierTask.objects.get(pk=int(ids[0]))


def login(client, user):
    sign_in(client, user)
    return client


def test_full_path_with_a_supplement_round(client, demo, signing):
    users = demo["users"]
    give_certificate(signing, users["signer"])
    dossier = Dossier.objects.filter(status=Status.SUBMITTED).order_by("pk").first()
    # 1. Reception claims the task and requests a supplement.
    login(client, users["reception"])
    task = queue_task(client, "reception", dossier.reference)
    assert task.dossier_id == dossier.pk
    assert client.post(reverse("workspace:claim", args=[task.pk])).status_code == 302
    page = client.get(reverse("workspace:task", args=[task.pk]))
    assert (
        "Yêu cầu bổ sung" in page.content.decode()
        or "Request a supplement" in page.content.decode()
    )
    component = dossier.procedure_version.spec["components"][0]["code"]
    response = client.post(
        reverse("workspace:act", args=[task.pk]),
        {
            "action": "supplement",
            f"supplement-item_{component}": "on",
            f"supplement-why_{component}": "Bản chụp không rõ chữ ký",
            "supplement-reason": "Hồ sơ chưa hợp lệ",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    dossier.refresh_from_db()
    assert dossier.status == Status.SUPPLEMENT_REQUESTED

    # 2. The dossier goes back to the citizen, who sees what to fix and files again.
    login(client, users["citizen"])
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Bản chụp không rõ chữ ký" in page
    spec = dossier.procedure_version.spec
    upload = spec["components"][0]
    fixed = sample_upload(upload)
    response = client.post(
        reverse("portal:edit", args=[dossier.pk]),
        {
            "applicant_name": dossier.applicant_name,
            "applicant_phone": dossier.applicant_phone,
            **sample_form_data(spec),
            f"file_{upload['code']}": fixed,
            "review": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(reverse("portal:review", args=[dossier.pk]), {"declaration": "on"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED

    # 3. Reception accepts; review, approval and signing follow, each through the pages.
    steps = [
        ("reception", users["reception"], {"action": "accept", "accept-comment": ""}),
        (
            "review",
            users["specialist"],
            {
                "action": "propose",
                "propose-decision": "approve",
                "propose-opinion": "Đủ điều kiện công nhận",
            },
        ),
        ("approval", users["head"], {"action": "approve", "approve-comment": "Đồng ý"}),
        (
            "signing",
            users["signer"],
            {
                "action": "sign",
                "sign-comment": "",
                "sign-personal": "on",
                "sign-password": SIGNER_PASSWORD,
                "sign-seal": "on",
            },
        ),
    ]
    for stage, officer, form in steps:
        login(client, officer)
        task = queue_task(client, stage, dossier.reference)
        client.post(reverse("workspace:claim", args=[task.pk]))
        inbox = client.get(reverse("workspace:inbox")).content.decode()
        assert f"/workspace/tasks/{task.pk}/" in inbox
        response = client.post(reverse("workspace:act", args=[task.pk]), form)
        assert response.status_code == 302, (stage, response.content.decode()[:3000])
        done = client.get(reverse("workspace:done")).content.decode()
        assert f"/workspace/tasks/{task.pk}/" in done
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    actions = list(dossier.history.values_list("action", flat=True))
    assert actions.count("task_claim") == 5
    assert "request_supplement" in actions and "resubmit" in actions and actions[-1] == "issue"
    assert "result_signed" in actions


def test_reasons_are_asked_and_nothing_typed_is_lost(client, demo):
    users = demo["users"]
    dossier = Dossier.objects.filter(status=Status.SUBMITTED).order_by("pk").first()
    login(client, users["reception"])
    task = queue_task(client, "reception", dossier.reference)
    client.post(reverse("workspace:claim", args=[task.pk]))
    response = client.post(
        reverse("workspace:act", args=[task.pk]), {"action": "reject", "reject-reason": "  "}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("workspace:act", args=[task.pk]),
        {"action": "supplement", "supplement-reason": "Thiếu giấy tờ chứng minh cư trú"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Thiếu giấy tờ chứng minh cư trú" in body  # kept in the form
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def test_a_forged_action_is_refused_in_words(client, demo):
    users = demo["users"]
    dossier = Dossier.objects.filter(status=Status.SUBMITTED).order_by("pk").first()
    login(client, users["reception"])
    task = queue_task(client, "reception", dossier.reference)
    client.post(reverse("workspace:claim", args=[task.pk]))
    response = client.post(reverse("workspace:act", args=[task.pk]), {"action": "sign"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
