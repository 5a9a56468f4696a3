"""Assisted filing: a desk officer files for a walk-in applicant; nothing typed or uploaded
is lost on an error, and posting the same form twice makes one dossier."""

from __future__ import annotations

import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import sign_in
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.models import Channel, Dossier, DossierTask, Status


def upload_for(component):
    if "application/pdf" in component["content_types"]:
        return SimpleUploadedFile(f"{component['code']}.pdf", minimal_pdf(), "application/pdf")
    return SimpleUploadedFile(f"{component['code']}.png", minimal_png(), "image/png")


def applicant(**extra):
    return {
        "applicant_name": "Giàng A Páo",
        "applicant_id_number": "001190054321",
        "applicant_phone": "0987654321",
        "applicant_address": "Bản Lầu Thí Ngài",
        **extra,
    }


def test_the_desk_files_for_a_walk_in(client, officers, procedure, province):
    desk = officers["reception"]
    sign_in(client, desk)
    start = client.get(reverse("workspace:file"))
    assert start.status_code == 200 and procedure.code in start.content.decode()
    new_url = reverse("workspace:file_new", args=[province.code, procedure.code])
    page = client.get(new_url)
    key = re.search(r'name="filing_key" value="([^"]+)"', page.content.decode()).group(1)
    spec = procedure.current_version.spec
    first, second = spec["components"][0], spec["components"][1]
    # Missing fields, one good file, one disguised file.
    response = client.post(
        new_url,
        {
            "filing_key": key,
            "channel": "desk",
            **applicant(applicant_email="not-an-email"),
            "full_name": "Giàng A Páo",
            f"file_{first['code']}": upload_for(first),
            f"file_{second['code']}": SimpleUploadedFile("scan.pdf", b"MZ" + b"\0" * 100),
            "submit": "1",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Giàng A Páo" in body and "not-an-email" in body
    dossier = Dossier.objects.get(filing_key=key)
    assert dossier.status == Status.DRAFT and dossier.channel == Channel.DESK
    assert dossier.components.filter(component_code=first["code"]).count() == 1
    assert not dossier.components.filter(component_code=second["code"]).exists()
    assert f"{first['code']}.pdf" in body or f"{first['code']}.png" in body  # kept, shown
    # Posting the first form again (back button, refresh) finds the same draft.
    again = client.post(new_url, {"filing_key": key, **applicant()})
    assert again.status_code in (302, 400)
    assert Dossier.objects.filter(filing_key=key).count() == 1
    # Complete it from the draft page and file it.
    draft_url = reverse("workspace:draft", args=[dossier.pk])
    data = {**applicant(), **sample_form_data(spec), "submit": "1"}
    for component in spec["components"][1:]:
        data[f"file_{component['code']}"] = upload_for(component)
    response = client.post(draft_url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    dossier.refresh_from_db()
    # Filed, not yet received: the code comes with the reception.
    assert dossier.status == Status.SUBMITTED and dossier.code is None
    assert dossier.filed_by == desk and dossier.applicant_user is None
    assert dossier.applicant_name == "Giàng A Páo"
    assert DossierTask.objects.filter(dossier=dossier, stage="reception", status="NEW").exists()
    # The filed dossier cannot be posted into again.
    assert client.post(draft_url, data).status_code == 302
    assert Dossier.objects.filter(filing_key=key).count() == 1


def test_post_channel_and_a_forged_key(client, officers, procedure, province):
    sign_in(client, officers["reception"])
    new_url = reverse("workspace:file_new", args=[province.code, procedure.code])
    client.post(new_url, {"filing_key": "not-a-uuid", "channel": "post", **applicant()})
    dossier = Dossier.objects.latest("pk")
    assert dossier.channel == Channel.POST and dossier.filing_key is None
    client.post(new_url, {"channel": "carrier-pigeon", **applicant()})
    assert Dossier.objects.latest("pk").channel == Channel.DESK


def test_only_reception_files_at_the_desk(client, officers, outsiders, procedure, province):
    new_url = reverse("workspace:file_new", args=[province.code, procedure.code])
    for officer in (officers["specialist"], officers["head"], officers["signer"]):
        sign_in(client, officer)
        assert client.get(reverse("workspace:file")).status_code == 403
        assert client.post(new_url, {"filing_key": str(uuid.uuid4())}).status_code == 403
    sign_in(client, outsiders["reception"])
    assert client.get(new_url).status_code == 404
    assert not Dossier.objects.exists()
