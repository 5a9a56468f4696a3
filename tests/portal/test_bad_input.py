"""Every citizen form with bad input: missing and invalid fields, disguised and oversized
files, other citizens' ids. Each gets a clear error, nothing typed is lost, nothing 500s."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import CitizenProfile
from tests.conftest import make_user, new_draft, sign_in
from workflows.demo import minimal_pdf, sample_form_data
from workflows.models import Dossier, Status


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"username": "a1", "password1": "Núi-cao-2026!", "password2": "Núi-cao-2026!"}, "email"),
        (
            {
                "email": "not-an-email",
                "username": "a2",
                "password1": "Núi-cao-2026!",
                "password2": "Núi-cao-2026!",
            },
            "email",
        ),
        (
            {
                "email": "b@example.org",
                "username": "a3",
                "password1": "Núi-cao-2026!",
                "password2": "different-2026!",
            },
            "password2",
        ),
        (
            {"email": "c@example.org", "username": "a4", "password1": "123", "password2": "123"},
            "password1",
        ),
    ],
)
def test_sign_up_errors(client, db, data, field):
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["form"].data.get("username") == data["username"]
    assert not mail.outbox


def test_password_reset_with_an_unknown_or_invalid_address(client, db):
    assert client.post(reverse("account_reset_password"), {"email": "nobody"}).status_code == 200
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.org"})
    assert response.status_code in (200, 302)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"full_name": "", "language": "vi"}, "full_name"),
        ({"full_name": "Mai", "date_of_birth": "31/02/1990", "language": "vi"}, "date_of_birth"),
        ({"full_name": "Mai", "phone": "call me", "language": "vi"}, "phone"),
        ({"full_name": "Mai", "ethnic_group": "99", "language": "vi"}, "ethnic_group"),
    ],
)
def test_profile_errors_keep_what_was_typed(client, citizen, data, field):
    sign_in(client, citizen)
    response = client.post(reverse("portal:profile"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="error-summary"' in response.content.decode()
    assert not CitizenProfile.objects.filter(user=citizen).exists()


def test_lookup_with_missing_fields(client, db):
    response = client.post(reverse("portal:lookup"), {"code": ""})
    assert response.status_code == 400
    assert {"code", "secret"} <= set(response.context["form"].errors)


def test_a_bad_value_does_not_lose_the_good_ones(client, citizen, procedure, province):
    draft = new_draft(procedure, province, citizen, complete=False)
    sign_in(client, citizen)
    response = client.post(
        reverse("portal:edit", args=[draft.pk]),
        {
            "applicant_name": "Lò Thị Mai",
            "full_name": "Lò\x00Mai",
            "citizen_id": "001190012345",
        },
    )
    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.applicant_name == "Lò Thị Mai"
    assert draft.form_data["citizen_id"] == "001190012345"
    assert "full_name" not in draft.form_data


def test_dates_typed_day_first_are_understood(client, citizen, procedure, province):
    draft = new_draft(procedure, province, citizen)
    sign_in(client, citizen)
    data = {
        "applicant_name": "Lò Thị Mai",
        **sample_form_data(procedure.current_version.spec),
        "date_of_birth": "12/05/1990",
        "review": "1",
    }
    response = client.post(reverse("portal:edit", args=[draft.pk]), data)
    assert response.status_code == 302
    assert (
        client.post(reverse("portal:review", args=[draft.pk]), {"declaration": "on"}).status_code
        == 302
    )
    draft.refresh_from_db()
    assert draft.form_data["date_of_birth"] == "1990-05-12"


def test_the_declaration_error_is_shown(client, citizen, procedure, province):
    draft = new_draft(procedure, province, citizen)
    sign_in(client, citizen)
    response = client.post(reverse("portal:review", args=[draft.pk]), {"other": "x"})
    assert response.status_code == 400
    assert response.context["declaration"].errors
    assert "field-error" in response.content.decode()


def test_withdrawal_without_confirmation_or_with_an_endless_reason(client, walk, citizen):
    dossier = walk(Status.SUBMITTED)
    sign_in(client, citizen)
    url = reverse("portal:withdraw", args=[dossier.pk])
    page = client.post(url, {"reason": "x" * 5000, "confirm": "on"})
    assert page.status_code == 400  # the dossier page again, with the error and the text
    assert "1000" in page.content.decode()  # says what is wrong
    assert "x" * 5000 in page.content.decode()
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def test_other_citizens_ids_on_every_post(client, walk, procedure, province):
    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    before = (dossier.form_data, dossier.components.count(), dossier.history_count)
    sign_in(client, make_user())
    upload = SimpleUploadedFile("x.pdf", minimal_pdf(), "application/pdf")
    for url, data in (
        (reverse("portal:edit", args=[dossier.pk]), {"full_name": "Forged", "file_x": upload}),
        (reverse("portal:review", args=[dossier.pk]), {"declaration": "on"}),
        (reverse("portal:withdraw", args=[dossier.pk]), {"confirm": "on"}),
        (reverse("portal:edit", args=[999999]), {}),
    ):
        assert client.post(url, data).status_code == 404, url
    dossier.refresh_from_db()
    assert (dossier.form_data, dossier.components.count(), dossier.history_count) == before


def test_a_forged_agency_or_filing_key(client, citizen, procedure, province, catalog):
    sign_in(client, citizen)
    url = reverse("portal:apply", args=[procedure.code])
    response = client.post(url, {"agency": "G16", "filing_key": "nope"})
    assert response.status_code == 400  # the central body does not handle it
    other = make_user()
    from workflows.services import dossiers

    theirs = dossiers.dossier_create(
        procedure=procedure,
        handling_agency=province,
        channel="online",
        by=other,
        applicant_user=other,
        filing_key="6f1c1f34-5a8f-4b7a-9a53-0d5b0d0f9a11",
    )
    response = client.post(
        url, {"agency": province.code, "filing_key": "6f1c1f34-5a8f-4b7a-9a53-0d5b0d0f9a11"}
    )
    assert response.status_code == 302  # refused with a message, not the other's draft
    assert Dossier.objects.filter(applicant_user=citizen).count() == 0
    theirs.refresh_from_db()
    assert theirs.applicant_user == other


def test_every_citizen_page_is_light(client, walk, citizen, db):
    """All citizen pages, public and personal, with the stylesheet, under 60 KB
    compressed."""
    css = Path(finders.find("css/motcua.css")).read_bytes()
    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    received = walk(Status.RECEIVED)  # the receipt and the lookup come with the reception
    code = dossier.procedure_version.procedure.code
    public = [
        reverse("portal:home"),
        reverse("portal:procedure", args=[code]),
        reverse("portal:lookup"),
        reverse("account_login"),
        reverse("account_signup"),
        reverse("account_reset_password"),
    ]
    personal = [
        reverse("portal:my_dossiers"),
        reverse("portal:profile"),
        reverse("portal:apply", args=[code]) + f"?agency={dossier.handling_agency.code}",
        reverse("portal:dossier", args=[dossier.pk]),
        reverse("portal:edit", args=[dossier.pk]),
        reverse("portal:review", args=[dossier.pk]),
        reverse("portal:receipt", args=[received.pk]),
    ]
    sizes = {}
    for url in public:
        response = client.get(url)
        assert response.status_code == 200, url
        sizes[url] = len(gzip.compress(response.content)) + len(gzip.compress(css))
    lookup = client.post(
        reverse("portal:lookup"), {"code": received.code, "secret": received.lookup_secret}
    )
    assert lookup.status_code == 200 and received.code in lookup.content.decode()
    sizes["lookup result"] = len(gzip.compress(lookup.content)) + len(gzip.compress(css))
    sign_in(client, citizen)
    for url in personal:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-cache" in response.get("Cache-Control", "") or "no-store" in response.get(
            "Cache-Control", ""
        ), url
        sizes[url] = len(gzip.compress(response.content)) + len(gzip.compress(css))
    assert all(size <= 60 * 1024 for size in sizes.values()), sizes
