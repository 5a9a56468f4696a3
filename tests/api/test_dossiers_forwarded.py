"""Dossiers the national portal forwards, through the API's submit: ``source`` and
``source_code`` recorded, the applicant's ID number required, bad values refused with
nothing stored; the sync then tells the portal under its own code from status 1 on, over
real HTTP to the portal's sandbox."""

from __future__ import annotations

import pytest

from connectors.national_portal import fields
from connectors.national_portal.models import ForwardedDossier, PortalPush
from connectors.national_portal.sandbox import NationalPortalSandbox
from connectors.national_portal.sync import portal_sync_sweep
from tests.connectors.test_national_portal import configure
from workflows.models import Dossier, Status
from workflows.services import dossiers as transitions

from .test_dossiers import APPLICANT, URL, assert_problem, json_body, stored_files

pytestmark = pytest.mark.django_db
F = fields.DEFAULT_FIELDS


@pytest.fixture
def sandbox(settings):
    instance = NationalPortalSandbox()
    instance.start()
    configure(settings, instance)
    yield instance
    instance.stop()


def forwarded(procedure, agency, code="G22.99-260101-0001", **extra) -> dict:
    return {
        **json_body(procedure, agency),
        "source": "national_portal",
        "source_code": code,
        **extra,
    }


def test_a_forwarded_dossier_is_synced_under_the_portals_code_from_the_start(
    api, procedure, province, officers, sandbox
):
    response = api.post(URL, forwarded(procedure, province))
    assert response.status_code == 201, response.content[:2000]
    dossier = Dossier.objects.get(pk=response.json()["id"])
    assert dossier.channel == "online" and dossier.code is None
    assert ForwardedDossier.objects.get(dossier=dossier).portal_code == "G22.99-260101-0001"
    # The portal knows it already: status 1 goes before reception, under its code.
    assert portal_sync_sweep() == 1
    assert sandbox.statuses("G22.99-260101-0001") == [1]
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    assert dossier.code and dossier.code != "G22.99-260101-0001"
    assert portal_sync_sweep() == 1
    assert sandbox.statuses("G22.99-260101-0001") == [1, 2]
    assert dossier.code not in sandbox.dossiers
    body = sandbox.dossiers["G22.99-260101-0001"][-1]
    assert body[F["applicant_id_number"]] == APPLICANT["id_number"]
    assert body[F["channel"]] == fields.CHANNEL_CODES["online"]


def test_a_forward_needs_its_code_and_the_applicants_id_number(api, procedure, province):
    no_code = forwarded(procedure, province)
    del no_code["source_code"]
    assert_problem(api.post(URL, no_code), 400, "source_code")
    no_id = forwarded(procedure, province, applicant={**APPLICANT, "id_number": ""})
    assert_problem(api.post(URL, no_id), 400, "applicant.id_number")
    orphan = {**json_body(procedure, province), "source_code": "G22.99-260101-0002"}
    assert_problem(api.post(URL, orphan), 400, "source")
    assert_problem(api.post(URL, forwarded(procedure, province, source="elsewhere")), 400, "source")
    for bad in ("", " ", "x" * 65, "bad code", "../etc", 12, ["a"], {"a": 1}):
        body = forwarded(procedure, province, code=bad)
        assert_problem(api.post(URL, body), 400, "source_code")
    assert not Dossier.objects.exists() and not ForwardedDossier.objects.exists()
    assert stored_files() == []


def test_one_dossier_per_portal_code(api, procedure, province):
    assert api.post(URL, forwarded(procedure, province)).status_code == 201
    again = api.post(URL, forwarded(procedure, province))
    body = assert_problem(again, 400, "source_code")
    assert "already" in str(body)
    assert Dossier.objects.exclude(status=Status.DRAFT).count() == 1
    assert ForwardedDossier.objects.count() == 1
    # Nothing of the refused second one stays: no draft, no file.
    assert Dossier.objects.count() == 1
    assert not PortalPush.objects.exists()  # the connector is off here: nothing queued
