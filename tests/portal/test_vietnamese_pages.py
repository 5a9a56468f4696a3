"""Vietnamese everywhere on a citizen's Vietnamese page (issue #16, item 3): dates as
28/12/2026, file types as words, the fee written once, the person's name in the header."""

from __future__ import annotations

import re

from django.urls import reverse

from portal.models import CitizenProfile
from tests.conftest import sign_in
from workflows.models import HistoryEntry, Status

VI = {"HTTP_ACCEPT_LANGUAGE": "vi"}


def page(client, name, *args) -> str:
    response = client.get(reverse(name, args=args), **VI)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_citizens_timeline_writes_dates_the_vietnamese_way(client, walk, citizen):
    dossier = walk(Status.RECEIVED)
    due = HistoryEntry.objects.get(dossier=dossier, action="receive").data["due_date"]
    year, month, day = due.split("-")
    sign_in(client, citizen)
    html = page(client, "portal:dossier", dossier.pk)
    timeline = html.split('id="h-time"', 1)[1].split("</section>", 1)[0]
    assert f"hẹn trả {day}/{month}/{year}" in timeline or f"{day}/{month}/{year}" in timeline
    assert due not in timeline
    assert not re.search(r">[^<]*\b\d{4}-\d{2}-\d{2}\b", html.split('id="h-status"', 1)[1])


def test_accepted_file_types_are_words_and_the_fee_is_written_once(client, procedure, catalog):
    html = page(client, "portal:procedure", procedure.code)
    assert "application/pdf" not in html and "image/jpeg" not in html
    assert "(PDF, ≤" in html
    facts = html.split('id="h-facts"', 1)[1].split("</section>", 1)[0]
    assert facts.count("Không thu phí") == 1, facts


def test_the_filing_form_names_file_types_in_words(client, procedure, province, citizen):
    sign_in(client, citizen)
    url = reverse("portal:apply", args=[procedure.code])
    html = client.get(url, {"agency": province.code}, **VI).content.decode()
    hints = re.findall(r"<small>([^<]*≤[^<]*)</small>", html)
    assert hints, html
    assert all("/" not in hint for hint in hints), hints
    # The browser's file picker still gets the content types.
    assert 'accept="application/pdf"' in html


def test_the_header_shows_the_persons_name(client, citizen):
    sign_in(client, citizen)
    response = client.post(
        reverse("portal:profile"), {"full_name": "Lò Thị Mai", "ethnic_group": ""}, **VI
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    html = page(client, "portal:my_dossiers")
    header = html.split('<header class="site">', 1)[1].split("</header>", 1)[0]
    assert "<span>Lò Thị Mai</span>" in header
    assert citizen.username not in header
    citizen.refresh_from_db()
    assert citizen.get_full_name() == "Lò Thị Mai"


def test_a_profile_alone_names_the_person_in_the_header(client, citizen):
    CitizenProfile.objects.create(user=citizen, full_name="Giàng A Páo")
    sign_in(client, citizen)
    header = page(client, "portal:my_dossiers").split('<header class="site">', 1)[1]
    assert "<span>Giàng A Páo</span>" in header.split("</header>", 1)[0]
