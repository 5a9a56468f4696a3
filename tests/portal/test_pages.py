"""The home page and the admin serve with demo data; the admin cannot change dossiers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.demo import seed_demo
from tests.conftest import sign_in
from workflows.models import Dossier


@pytest.fixture
def demo(db):
    return seed_demo()


def test_home_lists_the_published_procedures(client, demo):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Công nhận người có uy tín" in body
    assert "1.012841" in body


def test_home_search(client, demo):
    body = client.get("/", {"q": "uy tín"}).content.decode()
    assert "1.012841" in body and "1.012842" not in body
    body = client.get("/", {"q": "<script>"}).content.decode()
    assert "<script>" not in body and "&lt;script&gt;" in body


def test_home_in_vietnamese_by_default(client, demo):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "Thủ tục hành chính" in body and "15 ngày làm việc" in body
    assert client.get("/").content.decode().count("Thủ tục hành chính") >= 1


def test_home_in_english(client, demo):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = client.get("/").content.decode()
    assert "Recognition of a prestigious person" in body


ADMIN_PAGES = [
    "admin:procedures_agency_changelist",
    "admin:procedures_officerrole_changelist",
    "admin:auth_user_changelist",
    "admin:procedures_procedure_changelist",
    "admin:procedures_procedureversion_changelist",
    "admin:workflows_dossier_changelist",
    "admin:workflows_historyentry_changelist",
    "admin:workflows_workingdayoverride_changelist",
    "admin:workflows_outgoingevent_changelist",
]


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_serve(client, demo, page):
    sign_in(client, demo["users"]["admin"])
    assert client.get(reverse(page)).status_code == 200


def test_admin_dossier_page_is_read_only(client, demo):
    sign_in(client, demo["users"]["admin"])
    dossier = Dossier.objects.exclude(code=None).first()
    url = reverse("admin:workflows_dossier_change", args=[dossier.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert dossier.code in response.content.decode()
    assert 'name="_save"' not in response.content.decode()
    client.post(url, {"applicant_name": "Forged"})
    dossier.refresh_from_db()
    assert dossier.applicant_name != "Forged"
    delete = reverse("admin:workflows_dossier_delete", args=[dossier.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert Dossier.objects.filter(pk=dossier.pk).exists()


def test_admin_requires_staff(client, demo):
    sign_in(client, demo["users"]["citizen"])
    response = client.get(reverse("admin:workflows_dossier_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]
