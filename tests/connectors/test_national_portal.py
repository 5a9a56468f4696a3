"""Status sync to the national portal, over real HTTP to its sandbox on loopback: every
status in order with the payload's fields and date format; down, slow and malformed
answers retried with backoff; a refusal failed for good, held in order, shown in the
admin and the digest, resent; token and key authentication; nothing when switched off."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connectors import http
from connectors.national_portal import fields
from connectors.national_portal.models import DossierSync, PortalPush, PushStatus, SyncState
from connectors.national_portal.sandbox import NationalPortalSandbox
from connectors.national_portal.sync import portal_sync_sweep
from documents.services import current_result, document_render
from notifications.alerts import alerts_send
from tests.conftest import APPLICANT
from workflows.events import MAX_ATTEMPTS
from workflows.models import Status
from workflows.services import dossiers as transitions
from workflows.tasks import dispatch_pending_events

F = fields.DEFAULT_FIELDS
DATE = re.compile(r"^\d{14}$")


def configure(settings, sandbox, **options):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "national_portal": {
                "BACKEND": "national",
                "URL": sandbox.url,
                "AUTH": "token",
                "TOKEN_PATH": "/token",
                "PUSH_PATH": "/dossiers/sync",
                "CLIENT_ID": "motcua-sandbox",
                "CLIENT_SECRET": "sandbox-secret",
                "KEY_HEADER": "X-Api-Key",
                "TIMEOUT": 2,
                "STUCK_SECONDS": 300,
                "FIELDS": {},
                **options,
            },
        },
    }


@pytest.fixture
def sandbox(run_sandbox, settings, db):
    instance = run_sandbox(NationalPortalSandbox)
    configure(settings, instance)
    return instance


@pytest.fixture
def alert_to(settings):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "ALERTS": {"EMAILS": ["ops@example.org"], "STUCK_MINUTES": 60},
        "SITE_URL": "https://motcua.example",
    }


def later(minutes: float):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=True)


def pushes(dossier) -> list[tuple[int, str]]:
    return list(
        PortalPush.objects.filter(dossier=dossier)
        .order_by("pk")
        .values_list("national_status", "status")
    )


def vn(moment) -> str:
    return timezone.localtime(moment, fields.VIETNAM).strftime("%Y%m%d%H%M%S")


# --- Every status, in order, with the payload ---------------------------------------------


def test_a_dossier_walked_through_reaches_the_portal_in_order(sandbox, walk):
    dossier = walk(Status.ISSUED)
    # The outbox's other work first (the result paper asked for, and rendered: a file is
    # attached, so it counts as digitised), then the pushes.
    dispatch_pending_events()
    document_render(document_id=current_result(dossier).pk)
    assert portal_sync_sweep() == 5
    dossier.refresh_from_db()
    # Filed (1), accepted (2), processing (4: review and approval are both 4, sent once),
    # processed (9: signed), result returned (10).
    assert sandbox.statuses(dossier.code) == [1, 2, 4, 9, 10]
    received = sandbox.dossiers[dossier.code]
    for body in received:
        assert body[F["dossier_code"]] == dossier.code
        assert body[F["procedure_code"]] == dossier.procedure_version.procedure.code
        assert body[F["agency_code"]] == dossier.handling_agency.code
        assert body[F["channel"]] == fields.CHANNEL_CODES["online"]
        assert body[F["applicant_type"]] == fields.APPLICANT_TYPE_CODES["citizen"]
        assert body[F["applicant_id_number"]] == APPLICANT["id_number"]
        assert body[F["identity_verified"]] == 0  # no VNeID sign-in yet (facts.py)
        assert body[F["fees"]] == []  # no fee model yet (facts.py)
        assert DATE.match(body[F["status_at"]]) and DATE.match(body[F["submitted_at"]])
        components = body[F["components"]]
        spec = dossier.procedure_version.spec["components"]
        assert [c[F["components.code"]] for c in components] == [c["code"] for c in spec]
        attached = set(dossier.components.values_list("component_code", flat=True))
        for item in components:
            digitised = int(item[F["components.code"]] in attached)
            assert item[F["components.digitised"]] == digitised
            assert item[F["components.reused"]] == 0
    filed, accepted, _processing, processed, returned = received
    # Dates in Vietnam time, yyyyMMddHHmmss; a step does not claim a later step's date.
    assert filed[F["received_at"]] is None and filed[F["due_at"]] is None
    assert accepted[F["received_at"]] == vn(dossier.received_at)
    assert accepted[F["due_at"]] == dossier.due_date.strftime("%Y%m%d") + "000000"
    assert filed[F["submitted_at"]] == accepted[F["submitted_at"]]
    assert returned[F["closed_at"]] == vn(dossier.closed_at)
    assert processed[F["closed_at"]] is None
    assert filed[F["results"]] == []
    result = current_result(dossier)
    assert result is not None and result.file
    assert returned[F["results"]] == [
        {
            F["results.code"]: result.verification_code,
            F["results.name"]: "Kết quả giải quyết thủ tục hành chính",
            F["results.digitised"]: 1,
            F["results.reused"]: 0,
        }
    ]
    steps = PortalPush.objects.filter(dossier=dossier).order_by("pk")
    assert [vn(s.occurred_at) for s in steps] == [b[F["status_at"]] for b in received]
    assert [b[F["status_at"]] for b in received] == sorted(b[F["status_at"]] for b in received)
    sync = DossierSync.objects.get(dossier=dossier)
    assert sync.state == SyncState.SYNCED and sync.national_status == 10
    assert sync.last_tried_at is not None and sync.last_error == ""
    # Nothing left: a second sweep sends nothing again.
    assert portal_sync_sweep() == 0 and len(sandbox.dossiers[dossier.code]) == 5


def test_the_after_commit_hand_off_sends_once_the_dossier_has_its_code(
    sandbox, walk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dossier = walk(Status.SUBMITTED)
    # Filed, not yet received: no code, so the portal cannot be told yet.
    assert pushes(dossier) == [(1, PushStatus.PENDING)]
    assert sandbox.dossiers == {}
    assert DossierSync.objects.get(dossier=dossier).state == SyncState.PENDING
    assert portal_sync_sweep() == 0
    from tests.conftest import make_officer

    with django_capture_on_commit_callbacks(execute=True):
        dossier = transitions.dossier_receive(
            dossier=dossier, by=make_officer("reception", dossier.handling_agency)
        )
    assert sandbox.statuses(dossier.code) == [1, 2]
    assert pushes(dossier) == [(1, PushStatus.SYNCED), (2, PushStatus.SYNCED)]


def test_supplement_at_the_desk_and_withdrawal_are_told_in_order(sandbox, walk, citizen, officers):
    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    dossier = transitions.dossier_withdraw(dossier=dossier, by=citizen, reason="Không cần nữa")
    portal_sync_sweep()
    # Filed, supplement requested, filed again, accepted, withdrawal requested, stopped.
    assert sandbox.statuses(dossier.code) == [1, 5, 1, 2, 7, 8]


def test_a_dossier_refused_at_the_desk_has_no_code_and_is_not_pushed(sandbox, walk):
    dossier = walk(Status.REJECTED_AT_RECEPTION)
    assert dossier.code is None
    assert pushes(dossier) == [(1, PushStatus.SKIPPED), (3, PushStatus.SKIPPED)]
    assert portal_sync_sweep() == 0 and sandbox.dossiers == {}
    assert DossierSync.objects.get(dossier=dossier).state == SyncState.SKIPPED


def test_nothing_is_queued_when_the_connector_is_off(settings, walk):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {**settings.MOTCUA["CONNECTORS"], "national_portal": {"BACKEND": ""}},
    }
    walk(Status.RECEIVED)
    assert not PortalPush.objects.exists() and portal_sync_sweep() == 0


# --- Failures ------------------------------------------------------------------------------


def test_portal_down_is_retried_with_backoff_then_synced_in_order(sandbox, walk):
    sandbox.fault = "down"
    dossier = walk(Status.IN_REVIEW)
    assert portal_sync_sweep() == 0
    first = PortalPush.objects.filter(dossier=dossier).order_by("pk").first()
    assert first.attempts == 1 and first.last_reason == http.DOWN
    # The later steps wait behind the first: never tried.
    assert list(
        PortalPush.objects.filter(dossier=dossier).order_by("pk").values_list("attempts", flat=True)
    ) == [1, 0, 0]
    sync = DossierSync.objects.get(dossier=dossier)
    assert sync.state == SyncState.PENDING and "down" in sync.last_error
    sandbox.fault = ""
    # Not before the backoff has passed.
    assert portal_sync_sweep() == 0 and sandbox.dossiers == {}
    with later(1.1):
        assert portal_sync_sweep() == 3
    assert sandbox.statuses(dossier.code) == [1, 2, 4]
    assert DossierSync.objects.get(dossier=dossier).state == SyncState.SYNCED


def test_slow_beyond_the_timeout_is_retried(sandbox, settings, walk):
    configure(settings, sandbox, TIMEOUT=0.3)
    sandbox.fault = "slow:1"
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    first = PortalPush.objects.filter(dossier=dossier).order_by("pk").first()
    assert first.status == PushStatus.PENDING and first.last_reason == http.TIMEOUT
    sandbox.fault = ""
    with later(1.1):
        assert portal_sync_sweep() == 2
    # The slow answer may have been recorded by the sandbox too: the portal takes a step
    # again harmlessly; what matters is the order and that every step was accepted.
    statuses = sandbox.statuses(dossier.code)
    assert statuses[-2:] == [1, 2] and sorted(set(statuses)) == [1, 2]


def test_a_malformed_answer_is_retried_never_synced_then_fails_after_the_last(
    sandbox, walk, alert_to
):
    sandbox.fault = "malformed"
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    first = PortalPush.objects.filter(dossier=dossier).order_by("pk").first()
    for _ in range(MAX_ATTEMPTS - 1):
        first.refresh_from_db()
        assert first.status == PushStatus.PENDING and first.last_reason == http.MALFORMED
        with time_machine.travel(first.next_attempt_at + dt.timedelta(seconds=1)):
            portal_sync_sweep()
    first.refresh_from_db()
    assert first.status == PushStatus.FAILED and first.attempts == MAX_ATTEMPTS
    assert not PortalPush.objects.filter(status=PushStatus.SYNCED).exists()
    assert pushes(dossier)[1] == (2, PushStatus.PENDING)  # held behind the failed one
    assert DossierSync.objects.get(dossier=dossier).state == SyncState.FAILED


def test_a_refusal_fails_at_once_is_alerted_listed_and_resent(
    sandbox, walk, alert_to, admin_client, django_capture_on_commit_callbacks
):
    sandbox.fault = "refuse"
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    first, second = PortalPush.objects.filter(dossier=dossier).order_by("pk")
    assert first.status == PushStatus.FAILED and first.attempts == 1
    assert first.last_reason == http.REFUSED and first.portal_error_code == "99"
    assert "từ chối" in first.last_error
    # Failed for good: no retry, and the step after it is held (order first).
    with later(120):
        assert portal_sync_sweep() == 0
    second.refresh_from_db()
    assert second.status == PushStatus.PENDING and second.attempts == 0
    sync = DossierSync.objects.get(dossier=dossier)
    assert sync.state == SyncState.FAILED and "99" in sync.last_error

    # The administrators' digest names it, with a link to the admin.
    assert alerts_send() >= 1
    digest = mail.outbox[-1].body
    assert "National portal sync" in digest
    assert f"https://motcua.example/admin/national_portal/portalpush/{first.pk}/change/" in digest

    # The admin's list of failed syncs shows it.
    changelist = reverse("admin:national_portal_portalpush_changelist")
    page = admin_client.get(changelist, {"status__exact": "failed"})
    assert page.status_code == 200
    assert dossier.code in page.content.decode()

    # Resent: the count starts again, it is accepted, and the held step follows.
    sandbox.fault = ""
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            changelist, {"action": "resend", "_selected_action": [first.pk, second.pk]}
        )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == PushStatus.SYNCED and first.attempts == 1
    assert sandbox.statuses(dossier.code) == [1, 2]
    assert DossierSync.objects.get(dossier=dossier).state == SyncState.SYNCED


def test_a_payload_the_portal_cannot_read_is_refused_with_its_message(sandbox, settings, walk):
    # A deployment that renamed a field the portal needs: the portal says which.
    configure(settings, sandbox, FIELDS={"dossier_code": "MaHoSoQG"})
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    first = PortalPush.objects.filter(dossier=dossier).order_by("pk").first()
    assert first.status == PushStatus.FAILED and first.portal_error_code == "2"
    assert "MaHoSo: required" in first.last_error


# --- Authentication ------------------------------------------------------------------------


def test_an_expired_token_is_renewed_once(sandbox, walk):
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    assert sandbox.statuses(dossier.code) == [1, 2]
    sandbox.expire_tokens()
    transitions.dossier_start_review(dossier=dossier, by=_officer(dossier, "specialist"))
    assert portal_sync_sweep() == 1
    assert sandbox.statuses(dossier.code) == [1, 2, 4]


def _officer(dossier, role):
    from tests.conftest import make_officer

    return make_officer(role, dossier.handling_agency)


def test_wrong_credentials_are_a_refusal(sandbox, settings, walk):
    configure(settings, sandbox, CLIENT_SECRET="wrong")
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    first = PortalPush.objects.filter(dossier=dossier).order_by("pk").first()
    assert first.status == PushStatus.FAILED and first.last_reason == http.REFUSED
    assert sandbox.dossiers == {}


def test_a_static_key_works_too(sandbox, settings, walk):
    configure(settings, sandbox, AUTH="key", API_KEY="sandbox-key")
    dossier = walk(Status.RECEIVED)
    assert portal_sync_sweep() == 2
    assert sandbox.statuses(dossier.code) == [1, 2]
    assert not any(r.path == "/token" for r in sandbox.received)


# --- The sandbox itself --------------------------------------------------------------------


def test_the_sandbox_lists_what_it_received(sandbox, walk):
    dossier = walk(Status.RECEIVED)
    portal_sync_sweep()
    listing = http.call_json("t", "GET", f"{sandbox.url}/dossiers/{dossier.code}", timeout=2)
    assert [s[F["status"]] for s in listing["statuses"]] == [1, 2]
    import requests

    page = requests.get(f"{sandbox.url}/", timeout=2)
    assert dossier.code in page.text and "1 → 2" in page.text
    missing = requests.get(f"{sandbox.url}/dossiers/NOPE", timeout=2)
    assert missing.status_code == 404


def test_the_sandbox_refuses_bad_shapes_and_no_credentials(sandbox):
    url = f"{sandbox.url}/dossiers/sync"
    with pytest.raises(http.ConnectorError) as unauthorised:
        http.call_json("t", "POST", url, json={}, timeout=2)
    assert unauthorised.value.status == 401
    headers = {"X-Api-Key": "sandbox-key"}
    answer = http.call_json("t", "POST", url, json=[1, 2], headers=headers, timeout=2)
    assert answer["error_code"] == "2" and "JSON object" in answer["message"]
    bad = {
        F["dossier_code"]: "X",
        F["procedure_code"]: "1.1",
        F["applicant_name"]: "A",
        F["status"]: 11,
        F["status_at"]: "2026-01-01",
        F["channel"]: 2,
        F["applicant_type"]: 1,
        F["identity_verified"]: 0,
        F["fees"]: [],
        F["components"]: [],
        F["results"]: [],
    }
    answer = http.call_json("t", "POST", url, json=bad, headers=headers, timeout=2)
    assert answer["error_code"] == "2"
    assert F["status"] in answer["message"] and F["status_at"] in answer["message"]
    good = {**bad, F["status"]: 1, F["status_at"]: "20260101120000"}
    answer = http.call_json("t", "POST", url, json=good, headers=headers, timeout=2)
    assert answer == {"error_code": "0", "message": "Đồng bộ thành công"}
    assert sandbox.statuses("X") == [1]


# --- Settings ------------------------------------------------------------------------------


def test_debug_uses_the_sandbox_and_a_deployment_is_off_until_configured(tmp_path):
    import json

    from connectors import sandbox as sandboxes
    from tests.config.test_settings import run_manage

    assert sandboxes.discover()["national_portal"].port_offset == 2
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps(s.MOTCUA['CONNECTORS']['national_portal']))"
    )
    base = {"MOTCUA_VAR_DIR": str(tmp_path)}

    def options(**env):
        result = run_manage("shell", "-c", code, env={**base, **env})
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    debug = options(DEBUG="1")
    assert debug["BACKEND"] == "national" and debug["URL"] == "http://127.0.0.1:8492"
    assert debug["CLIENT_ID"] == "motcua-sandbox"
    assert options()["BACKEND"] == ""
    real = options(
        MOTCUA_NATIONAL_PORTAL_URL="https://portal.example.gov.vn",
        MOTCUA_NATIONAL_PORTAL_AUTH="key",
        MOTCUA_NATIONAL_PORTAL_API_KEY="k-123",
        MOTCUA_NATIONAL_PORTAL_FIELDS='{"dossier_code": "MaHoSoQG"}',
        DEBUG="1",
    )
    assert real["BACKEND"] == "national" and real["URL"] == "https://portal.example.gov.vn"
    assert real["CLIENT_ID"] == "" and real["API_KEY"] == "k-123"
    assert real["FIELDS"] == {"dossier_code": "MaHoSoQG"}
