"""Event subscriptions (webhooks) against a real HTTP receiver on loopback: signed JSON
POSTs, in order, retried with backoff until accepted, failed past the last retry (the
digest names it, a replay delivers), paused after repeated failures and resumed; filters;
the address rule outside DEBUG; the API's own answers (401, 403, 404, 400)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from api import webhooks
from api.models import (
    Delivery,
    DeliveryStatus,
    EventKind,
    Scope,
    Subscription,
    SubscriptionStatus,
)
from api.webhooks import webhooks_sweep
from notifications.alerts import alerts_send
from procedures.models import Agency, Procedure
from tests.api.conftest import Api, make_api_client
from workflows.events import MAX_ATTEMPTS, event_record
from workflows.models import Status

URL = "/api/v1/subscriptions/"


class Receiver:
    """An HTTP server on loopback that records each POST; it answers the statuses queued
    in ``answers`` first (then 200)."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.received: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers.items()),
                            "body": body,
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self, path: str | None = None) -> list[dict]:
        return [
            json.loads(r["body"])
            for r in self.received
            if r["status"] == 200 and (path is None or r["path"] == path)
        ]

    def kinds(self, path: str | None = None) -> list[str]:
        return [p["event"] for p in self.accepted(path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def start(answers=()) -> Receiver:
        made.append(Receiver(answers))
        return made[-1]

    yield start
    for r in made:
        r.close()


@pytest.fixture(autouse=True)
def allow_loopback(settings, monkeypatch):
    """The receiver is on loopback: allowed here as in DEBUG; the address tests turn the
    rule back on."""
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE", True)


@pytest.fixture
def alert_to(settings):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "ALERTS": {"EMAILS": ["ops@example.org"], "STUCK_MINUTES": 60},
        "SITE_URL": "https://motcua.example",
    }


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def subscribe(api: Api, url: str, **extra) -> dict:
    response = api.post(URL, {"callback_url": url, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def verify(secret: str, request: dict) -> bool:
    """What a receiver does: HMAC-SHA256 over "<timestamp>.<body>" under the secret."""
    timestamp = request["headers"]["X-Motcua-Timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request["headers"]["X-Motcua-Signature"], f"sha256={expected}")


def later(minutes: float):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=True)


def retry_all_due(rounds: int = 1) -> None:
    """Move each pending delivery's next attempt to now (as time passing would) and sweep."""
    for _ in range(rounds):
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=timezone.now()
        )
        webhooks_sweep()


# --- Delivery ----------------------------------------------------------------------------------


def test_events_arrive_signed_in_order_without_personal_data(api, receiver, walk):
    sink = receiver()
    made = subscribe(api, sink.url(), auth_header="Bearer receiver-token")
    dossier = walk(Status.ISSUED)
    assert webhooks_sweep() == 4
    assert sink.kinds() == ["filed", "received", "approved", "issued"]
    for request in sink.received:
        assert verify(made["secret"], request)
        assert request["headers"]["Authorization"] == "Bearer receiver-token"
        assert request["headers"]["Content-Type"] == "application/json"
        payload = json.loads(request["body"])
        assert request["headers"]["X-Motcua-Delivery"] == payload["delivery_id"]
        assert request["headers"]["X-Motcua-Event"] == payload["event"]
        assert not verify("whsec_wrong", request)
    payloads = sink.accepted()
    assert [p["dossier"]["national_status"] for p in payloads] == [1, 2, 4, 10]
    assert [p["dossier"]["status"] for p in payloads] == [
        "submitted",
        "received",
        "approved",
        "issued",
    ]
    seqs = [p["seq"] for p in payloads]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    first = payloads[0]["dossier"]
    # Filed, not yet received: no code then; the code comes with the reception.
    assert payloads[1]["dossier"]["code"] == dossier.code and dossier.code
    assert first == {
        "id": dossier.pk,
        "code": None,
        "status": "submitted",
        "national_status": 1,
        "procedure": dossier.procedure_version.procedure.code,
        "agency": dossier.handling_agency.code,
    }
    raw = b"".join(r["body"] for r in sink.received).decode()
    for private in ("Lò Thị Mai", "001190012345", "0912345678", "mai@example.org"):
        assert private not in raw
    # Nothing left to send; a second sweep sends nothing again.
    assert webhooks_sweep() == 0 and len(sink.received) == 4


def test_the_embedded_default_never_posts_inside_the_request(
    api, receiver, walk, django_capture_on_commit_callbacks
):
    """Eager Celery (no worker): the change's commit, a resume and a replay hand nothing
    over to be posted in the request; the periodic sweep sends. (With workers, the
    after-commit hand-off: tests/api/test_webhooks_worker.py.)"""
    sink = receiver()
    made = subscribe(api, sink.url())
    with django_capture_on_commit_callbacks(execute=True):
        walk(Status.RECEIVED)
    assert sink.received == []
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
    assert webhooks_sweep() == 2
    assert sink.kinds() == ["filed", "received"]
    assert all(verify(made["secret"], r) for r in sink.received)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}

    Subscription.objects.filter(pk=made["id"]).update(status=SubscriptionStatus.PAUSED)
    walk(Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"{URL}{made['id']}/resume/").status_code == 200
        delivery = Delivery.objects.first()  # the newest: ordered by -id
        replayed = api.post(f"{URL}deliveries/{Delivery.objects.last().delivery_id}/replay/")
        assert replayed.status_code == 202
    assert len(sink.received) == 2
    assert webhooks_sweep() == 2
    assert len(sink.received) == 4 and sink.kinds()[2:] == ["filed", "filed"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


def test_a_receiver_answering_500_is_retried_until_it_accepts(api, receiver, walk):
    sink = receiver(answers=[500, 503])
    subscribe(api, sink.url())
    walk(Status.SUBMITTED)
    webhooks_sweep()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500
    # Not before its backoff has passed.
    assert webhooks_sweep() == 0 and len(sink.received) == 1
    with later(1.1):
        assert webhooks_sweep() == 0  # 503
    with later(1.1 + 2.1):
        assert webhooks_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert list(delivery.tries.values_list("number", "status_code")) == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    ids = {r["headers"]["X-Motcua-Delivery"] for r in sink.received}
    assert ids == {str(delivery.delivery_id)}  # one delivery id: the receiver de-duplicates
    bodies = {r["body"] for r in sink.received}
    assert len(bodies) == 1  # the same body at every attempt


def test_down_past_the_last_retry_alerts_and_a_replay_delivers(
    api, receiver, walk, alert_to, django_capture_on_commit_callbacks
):
    made = subscribe(api, f"http://127.0.0.1:{closed_port()}/down")
    walk(Status.SUBMITTED)
    webhooks_sweep()
    start = timezone.now()
    delivery = Delivery.objects.get()
    for _ in range(MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1)):
            webhooks_sweep()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == delivery.tries.count()
    assert delivery.failed_at - start >= webhooks.retry_window() - dt.timedelta(minutes=1)
    assert "ConnectionRefused" in delivery.last_error
    subscription = Subscription.objects.get(pk=made["id"])
    assert subscription.consecutive_failures == 1
    assert subscription.status == SubscriptionStatus.ACTIVE  # one failure does not pause

    with time_machine.travel(delivery.failed_at + dt.timedelta(minutes=1)):
        assert alerts_send() >= 1
    digest = mail.outbox[-1].body
    assert "Webhook deliveries" in digest
    assert f"#{delivery.pk} filed / " in digest
    assert f"https://motcua.example/admin/api/delivery/{delivery.pk}/change/" in digest

    # The receiver is back (at a new address); the client replays.
    sink = receiver()
    response = api.http.patch(
        f"{URL}{made['id']}/",
        {"callback_url": sink.url()},
        content_type="application/json",
        headers=api.headers(),
    )
    assert response.status_code == 200, response.content
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}deliveries/{delivery.delivery_id}/replay/")
    assert response.status_code == 202, response.content
    assert webhooks_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [r["headers"]["X-Motcua-Delivery"] for r in sink.received] == [str(delivery.delivery_id)]
    assert verify(made["secret"], sink.received[0])
    assert Subscription.objects.get(pk=made["id"]).consecutive_failures == 0


def test_a_dossiers_deliveries_go_in_order(api, receiver, walk, procedure, province, citizen):
    sink = receiver(answers=[500])
    subscribe(api, sink.url())
    first = walk(Status.RECEIVED)  # filed, received
    webhooks_sweep()
    # "filed" failed once: "received" waits behind it.
    assert sink.kinds() == []
    assert len(sink.received) == 1
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
    with later(1.5):
        assert webhooks_sweep() == 2
    assert [(p["dossier"]["id"], p["event"]) for p in sink.accepted()] == [
        (first.pk, "filed"),
        (first.pk, "received"),
    ]


def test_one_dossier_waiting_does_not_hold_up_another(api, receiver, walk):
    sink = receiver(answers=[500])
    subscribe(api, sink.url())
    first = walk(Status.SUBMITTED)
    webhooks_sweep()  # first dossier's "filed": 500
    second = walk(Status.SUBMITTED)
    webhooks_sweep()
    assert [p["dossier"]["id"] for p in sink.accepted()] == [second.pk]
    with later(1.5):
        webhooks_sweep()
    assert [p["dossier"]["id"] for p in sink.accepted()] == [second.pk, first.pk]


def test_filters_by_kind_agency_procedure_and_the_clients_subtree(
    api_pair, receiver, walk, province, other_province, procedure
):
    client, key = api_pair
    api = Api(key)
    sink = receiver()
    subscribe(api, sink.url("/all"))
    subscribe(api, sink.url("/received"), event_kinds=["received"])
    subscribe(api, sink.url("/this-procedure"), procedure=procedure.code)
    other_procedure = Procedure.objects.exclude(pk=procedure.pk).first()
    subscribe(api, sink.url("/other-procedure"), procedure=other_procedure.code)
    below = Agency.objects.filter(parent=province).first()
    subscribe(api, sink.url("/below"), agency=below.code)
    subscribe(api, sink.url("/province"), agency=province.code)
    _other, other_key = make_api_client(other_province)
    subscribe(Api(other_key), sink.url("/other-client"))
    walk(Status.RECEIVED)
    webhooks_sweep()
    assert sink.kinds("/all") == ["filed", "received"]
    assert sink.kinds("/received") == ["received"]
    assert sink.kinds("/this-procedure") == ["filed", "received"]
    assert sink.kinds("/province") == ["filed", "received"]
    assert sink.kinds("/other-procedure") == []
    assert sink.kinds("/below") == []
    assert sink.kinds("/other-client") == []


def test_rejected_withdrawn_supplement_and_refused_kinds(api, receiver, walk):
    sink = receiver()
    subscribe(api, sink.url())
    for status in (
        Status.REJECTED_AT_RECEPTION,
        Status.WITHDRAWN,
        Status.SUPPLEMENT_REQUESTED,
        Status.REFUSED,
    ):
        walk(status)
    webhooks_sweep()
    national = {p["event"]: p["dossier"]["national_status"] for p in sink.accepted()}
    assert sink.kinds().count("filed") == 4
    assert {k for k in sink.kinds() if k != "filed"} == {
        "rejected_at_reception",
        "withdrawn",
        "supplement_requested",
        "received",
        "refused",
    }
    assert national["rejected_at_reception"] == 3
    assert national["supplement_requested"] == 5


def test_overdue_is_told_once_per_dossier(api, receiver, walk):
    sink = receiver()
    subscribe(api, sink.url(), event_kinds=["overdue"])
    dossier = walk(Status.RECEIVED)
    for _ in range(2):  # two of its tasks late: one "overdue"
        with transaction.atomic():
            event_record(name="task.overdue", dossier=dossier, payload={"task": 1})
    webhooks_sweep()
    assert sink.kinds() == ["overdue"]


def test_the_escalation_job_gives_overdue(api, receiver, procedure, province, citizen, officers):
    from zoneinfo import ZoneInfo

    from tests.conftest import new_draft
    from workflows.services import work
    from workflows.services.escalation import tasks_escalate

    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    sink = receiver()
    subscribe(api, sink.url(), event_kinds=["overdue"])
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=vn), tick=False):
        dossier = work.application_submit(
            dossier=new_draft(procedure, province, citizen), by=citizen
        )
    with time_machine.travel(dt.datetime(2026, 3, 9, 9, tzinfo=vn), tick=False):
        assert tasks_escalate()["overdue"] == 1
    webhooks_sweep()
    (payload,) = sink.accepted()
    assert payload["event"] == "overdue" and payload["dossier"]["id"] == dossier.pk
    assert payload["dossier"]["status"] == "submitted" and payload["seq"] is None


# --- Pausing -----------------------------------------------------------------------------------


def test_a_failing_subscription_is_paused_and_resume_sends_what_waited(
    api, receiver, walk, settings, monkeypatch, alert_to
):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_PAUSE_AFTER", 2)
    # A short schedule for this test (the full one runs in the test above).
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 2)
    made = subscribe(api, f"http://127.0.0.1:{closed_port()}/down")
    walk(Status.SUBMITTED)
    walk(Status.SUBMITTED)
    retry_all_due(rounds=2)
    assert Delivery.objects.filter(status=DeliveryStatus.FAILED).count() == 2
    subscription = Subscription.objects.get(pk=made["id"])
    assert subscription.status == SubscriptionStatus.PAUSED
    assert subscription.paused_at is not None and "2" in subscription.pause_reason

    # Paused: new events still queue, nothing is sent, nothing is deleted.
    third = walk(Status.SUBMITTED)
    retry_all_due()
    pending = Delivery.objects.get(status=DeliveryStatus.PENDING)
    assert pending.dossier_id == third.pk and pending.attempts == 0
    shown = api.get(f"{URL}{made['id']}/").json()
    assert shown["status"] == "paused" and shown["consecutive_failures"] == 2
    alerts_send()
    assert "Paused webhook subscriptions" in mail.outbox[-1].body

    sink = receiver()
    api.http.patch(
        f"{URL}{made['id']}/",
        {"callback_url": sink.url()},
        content_type="application/json",
        headers=api.headers(),
    )
    response = api.post(f"{URL}{made['id']}/resume/")
    assert response.status_code == 200 and response.json()["status"] == "active"
    webhooks_sweep()
    assert [p["dossier"]["id"] for p in sink.accepted()] == [third.pk]
    # The two that failed are replayed on request.
    for delivery in Delivery.objects.filter(status=DeliveryStatus.FAILED):
        assert api.post(f"{URL}deliveries/{delivery.delivery_id}/replay/").status_code == 202
    webhooks_sweep()
    assert len(sink.accepted()) == 3
    assert not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def test_a_delivery_waiting_longer_than_the_schedule_pauses(api, receiver, walk):
    made = subscribe(api, f"http://127.0.0.1:{closed_port()}/down")
    walk(Status.RECEIVED)  # "received" waits behind "filed"
    webhooks_sweep()
    Delivery.objects.update(created_at=timezone.now() - webhooks.retry_window() * 2)
    retry_all_due()
    subscription = Subscription.objects.get(pk=made["id"])
    assert subscription.status == SubscriptionStatus.PAUSED
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2


def test_resumed_after_a_long_pause_a_first_failure_does_not_pause_again(
    api, receiver, walk, settings, monkeypatch
):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_PAUSE_AFTER", 2)
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    made = subscribe(api, f"http://127.0.0.1:{closed_port()}/down")
    walk(Status.SUBMITTED)
    walk(Status.SUBMITTED)
    webhooks_sweep()
    subscription = Subscription.objects.get(pk=made["id"])
    assert subscription.status == SubscriptionStatus.PAUSED
    assert subscription.consecutive_failures == 2
    # Paused for a week: what came meanwhile has waited longer than the retry schedule.
    walk(Status.SUBMITTED)
    Delivery.objects.update(created_at=timezone.now() - webhooks.retry_window() * 2)

    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    sink = receiver(answers=[500])
    Subscription.objects.filter(pk=made["id"]).update(callback_url=sink.url())
    assert api.post(f"{URL}{made['id']}/resume/").status_code == 200
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.resumed_at is not None
    webhooks_sweep()  # the first attempt after the resume: 500
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE, subscription.pause_reason
    retry_all_due()
    assert len(sink.accepted()) == 1
    # One more final failure: 1 in a row since the resume, under WEBHOOK_PAUSE_AFTER (2).
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    Subscription.objects.filter(pk=made["id"]).update(
        callback_url=f"http://127.0.0.1:{closed_port()}/down"
    )
    walk(Status.SUBMITTED)
    webhooks_sweep()
    subscription.refresh_from_db()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.consecutive_failures == 1


# --- Addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://localhost:8000/hook",
        "http://LOCALHOST/hook",
    ],
)
def test_non_public_addresses_are_refused_outside_debug(api, settings, monkeypatch, url):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE", False)
    response = api.post(URL, {"callback_url": url})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["callback_url"]
    assert not Subscription.objects.exists()


def test_a_public_address_is_accepted_outside_debug(api, settings, monkeypatch):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE", False)
    made = subscribe(api, "https://93.184.215.14/hooks/motcua")
    assert made["callback_url"] == "https://93.184.215.14/hooks/motcua"


def test_the_address_is_checked_again_at_each_send(api, receiver, walk, settings, monkeypatch):
    """Subscribed while allowed (or a name that changed its answer since): the POST is not
    made, the attempt says why, and it is retried like any failure."""
    sink = receiver()
    subscribe(api, sink.url())
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE", False)
    walk(Status.SUBMITTED)
    webhooks_sweep()
    assert sink.received == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error.startswith("refused:") and "not public" in delivery.last_error


# --- The API's own answers ---------------------------------------------------------------------


def test_no_key_401_wrong_scope_403(province):
    assert Api(None).get(URL).status_code == 401
    assert Api(None).post(URL, {"callback_url": "http://x.example/"}).status_code == 401
    _client, key = make_api_client(province, scopes=[Scope.CATALOG_READ])
    response = Api(key).get(URL)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert Api(key).post(URL, {"callback_url": "http://x.example/"}).status_code == 403


def test_another_clients_subscription_is_404(api, receiver, walk, province):
    sink = receiver()
    made = subscribe(api, sink.url())
    walk(Status.SUBMITTED)
    webhooks_sweep()
    delivery = Delivery.objects.get()
    _client, key = make_api_client(province)
    other = Api(key)
    base = f"{URL}{made['id']}/"
    assert other.get(base).status_code == 404
    assert other.get(f"{base}deliveries/").status_code == 404
    assert other.post(f"{base}resume/").status_code == 404
    assert other.post(f"{base}rotate-secret/").status_code == 404
    assert other.delete(base).status_code == 404
    assert (
        other.http.patch(
            base, {"event_kinds": []}, content_type="application/json", headers=other.headers()
        ).status_code
        == 404
    )
    assert other.post(f"{URL}deliveries/{delivery.delivery_id}/replay/").status_code == 404
    assert other.get(URL).json()["results"] == []
    assert Subscription.objects.get(pk=made["id"]).status == SubscriptionStatus.ACTIVE


def test_secret_once_auth_header_never_shown_rotation_signs_with_the_new_secret(
    api, receiver, walk
):
    sink = receiver()
    made = subscribe(api, sink.url(), auth_header="Basic c2VjcmV0")
    assert made["secret"].startswith("whsec_") and made["has_auth_header"] is True
    assert "auth_header" not in made
    shown = api.get(f"{URL}{made['id']}/").json()
    assert "secret" not in shown and "auth_header" not in shown
    listed = api.get(URL).content.decode()
    assert "c2VjcmV0" not in listed and made["secret"] not in listed
    rotated = api.post(f"{URL}{made['id']}/rotate-secret/").json()["secret"]
    assert rotated != made["secret"]
    walk(Status.SUBMITTED)
    webhooks_sweep()
    assert verify(rotated, sink.received[0]) and not verify(made["secret"], sink.received[0])
    deliveries = api.get(f"{URL}{made['id']}/deliveries/").json()
    (row,) = deliveries["results"]
    assert row["status"] == "delivered" and row["attempts_log"][0]["status_code"] == 200
    assert api.get(f"{URL}{made['id']}/deliveries/", {"status": "failed"}).json()["results"] == []


def test_delete_keeps_the_record_and_stops_deliveries(api, receiver, walk):
    sink = receiver()
    made = subscribe(api, sink.url())
    assert api.delete(f"{URL}{made['id']}/").status_code == 204
    assert api.get(f"{URL}{made['id']}/").status_code == 404
    assert Subscription.objects.get(pk=made["id"]).status == SubscriptionStatus.DELETED
    walk(Status.SUBMITTED)
    webhooks_sweep()
    assert sink.received == [] and not Delivery.objects.exists()


def test_deliveries_are_paginated_by_cursor(api, receiver, walk):
    sink = receiver()
    made = subscribe(api, sink.url())
    walk(Status.ISSUED)
    webhooks_sweep()
    page = api.get(f"{URL}{made['id']}/deliveries/", {"page_size": 3}).json()
    assert [d["kind"] for d in page["results"]] == ["issued", "approved", "received"]
    rest = api.http.get(page["next"], headers=api.headers()).json()
    assert [d["kind"] for d in rest["results"]] == ["filed"] and rest["next"] is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"callback_url": ""},
        {"callback_url": "not a url"},
        {"callback_url": "ftp://example.org/hook"},
        {"callback_url": "http://user:pass@example.org/hook"},
        {"callback_url": "http:///nohost"},
        {"callback_url": "http://example.org:99999/hook"},
        {"callback_url": "http://example.org/" + "a" * 10_000},
        {"callback_url": "http://example.org/\nInjected: 1"},
        {"callback_url": 42},
        {"callback_url": ["http://example.org/"]},
        {"callback_url": "http://example.org/", "event_kinds": ["nope"]},
        {"callback_url": "http://example.org/", "event_kinds": "received"},
        {"callback_url": "http://example.org/", "event_kinds": [1, 2]},
        {"callback_url": "http://example.org/", "auth_header": "Bearer x\r\nX-Evil: 1"},
        {"callback_url": "http://example.org/", "auth_header": "B" * 10_000},
        {"callback_url": "http://example.org/", "auth_header": "Bearer ñ"},
        {"callback_url": "http://example.org/", "agency": "NO-SUCH"},
        {"callback_url": "http://example.org/", "agency": "x" * 5_000},
        {"callback_url": "http://example.org/", "procedure": "NO-SUCH"},
        {"callback_url": "http://example.org/", "procedure": {"a": 1}},
    ],
)
def test_bad_input_is_a_400_problem(api, body):
    response = api.post(URL, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"]
    assert not Subscription.objects.exists()


def test_bad_bodies_and_parameters_are_400s_never_500s(api, receiver, other_province):
    made = subscribe(api, receiver().url())
    assert api.http.post(URL, "[1, 2]", content_type="application/json").status_code == 401
    headers = api.headers()
    assert (
        api.http.post(URL, "[1, 2]", content_type="application/json", headers=headers).status_code
        == 400
    )
    assert (
        api.http.post(
            URL, "{not json", content_type="application/json", headers=headers
        ).status_code
        == 400
    )
    other_agency = api.post(
        URL, {"callback_url": "http://example.org/", "agency": other_province.code}
    )
    assert other_agency.status_code == 400
    assert api.get(f"{URL}{made['id']}/deliveries/", {"status": "bogus"}).status_code == 400
    assert api.get(f"{URL}{made['id']}/deliveries/", {"cursor": "bogus"}).status_code == 404
    assert api.post(f"{URL}deliveries/{'z' * 36}/replay/").status_code == 404
    assert (
        api.post(f"{URL}deliveries/00000000-0000-0000-0000-000000000000/replay/").status_code == 404
    )
    assert api.get(f"{URL}99999999999/").status_code == 404
    put = api.http.put(
        f"{URL}{made['id']}/",
        {"callback_url": "http://example.org/new", "event_kinds": ["issued"]},
        content_type="application/json",
        headers=headers,
    )
    assert put.status_code == 200 and put.json()["event_kinds"] == ["issued"]
    assert put.json()["callback_url"] == "http://example.org/new"
    bad_patch = api.http.patch(
        f"{URL}{made['id']}/",
        {"callback_url": "gopher://x"},
        content_type="application/json",
        headers=headers,
    )
    assert bad_patch.status_code == 400
    assert api.get(f"{URL}{made['id']}/").json()["callback_url"] == "http://example.org/new"


def test_event_kinds_in_the_api_are_the_models(api):
    assert set(webhooks.KIND_OF.values()) == set(EventKind.values)


# --- Admin -------------------------------------------------------------------------------------


def test_admin_shows_deliveries_with_attempts_and_replays_pauses_resumes(
    api, receiver, walk, admin_client
):
    made = subscribe(api, f"http://127.0.0.1:{closed_port()}/down", auth_header="Bearer hidden")
    walk(Status.SUBMITTED)
    webhooks_sweep()
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)

    page = admin_client.get(f"/admin/api/delivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert "ConnectionRefused" in page.content.decode()  # the attempt, inline
    listing = admin_client.get("/admin/api/subscription/")
    assert listing.status_code == 200 and "Bearer hidden" not in listing.content.decode()
    detail = admin_client.get(f"/admin/api/subscription/{made['id']}/change/")
    assert detail.status_code == 200 and "Bearer hidden" not in detail.content.decode()

    sink = receiver()
    Subscription.objects.filter(pk=made["id"]).update(callback_url=sink.url())
    response = admin_client.post(
        "/admin/api/delivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    assert response.status_code == 302
    webhooks_sweep()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(sink.received) == 1

    admin_client.post(
        "/admin/api/subscription/", {"action": "pause", "_selected_action": [made["id"]]}
    )
    assert Subscription.objects.get(pk=made["id"]).status == SubscriptionStatus.PAUSED
    walk(Status.SUBMITTED)
    webhooks_sweep()
    assert len(sink.received) == 1  # paused: waits
    admin_client.post(
        "/admin/api/subscription/", {"action": "resume", "_selected_action": [made["id"]]}
    )
    webhooks_sweep()
    assert Subscription.objects.get(pk=made["id"]).status == SubscriptionStatus.ACTIVE
    assert len(sink.received) == 2


@pytest.mark.parametrize("size", ["0", "201", "-1", "null", "1.5", "٣", ""])
def test_a_bad_page_size_is_a_400(api, size):
    response = api.get(URL, {"page_size": size})
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "page_size"


def self_signed(tmp_path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "tls.pem", tmp_path / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


def test_an_https_callback_speaks_tls_and_verifies_the_certificate(api, receiver, walk, tmp_path):
    """To the plain-HTTP receiver, the TLS handshake fails; to a TLS receiver whose
    certificate no trusted CA signed, the verification fails: neither is delivered."""
    import ssl

    sink = receiver()
    subscribe(api, f"https://127.0.0.1:{sink.port}/hook")
    walk(Status.SUBMITTED)
    webhooks_sweep()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and "SSL" in delivery.last_error
    assert sink.kinds() == []

    tls = receiver()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path))
    tls.server.socket = context.wrap_socket(tls.server.socket, server_side=True)
    Subscription.objects.update(callback_url=f"https://localhost:{tls.port}/hook")
    retry_all_due()
    delivery.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.last_error
    assert tls.received == []


# --- The whole POST's deadline -----------------------------------------------------------------


class Trickler:
    """A receiver on loopback that reads the POST, then answers one header line every
    0.1 s for ``seconds`` before it ends its (200) answer: each read gets a byte well
    within the read timeout, so only a deadline on the whole POST cuts it off."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(int(self.seconds * 10)):
                        if self.stop.wait(0.1):
                            return
                        conn.sendall(b"X-Slow: 1\r\n")
                    conn.sendall(b"Content-Length: 0\r\n\r\n")
                except OSError:
                    continue  # cut off by the sender

    def close(self):
        self.stop.set()
        self.listener.close()


def test_a_trickling_receiver_is_cut_off_at_the_total_deadline(api, walk, settings, monkeypatch):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_READ_TIMEOUT", 2.0)
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_TOTAL_TIMEOUT", 1.0)
    slow = Trickler(seconds=8)
    try:
        subscribe(api, f"http://127.0.0.1:{slow.port}/hook")
        walk(Status.SUBMITTED)
        assert webhooks_sweep() == 0
    finally:
        slow.close()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("DeadlinePassed: no complete answer within 1 s")
    attempt = delivery.tries.get()
    assert attempt.error == delivery.last_error and attempt.status_code is None


# --- Pruning -----------------------------------------------------------------------------------


def test_old_deliveries_are_pruned_failed_ones_kept_longer(
    api, receiver, walk, settings, monkeypatch
):
    from api.models import DeliveryAttempt
    from api.services import api_records_prune

    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 1)
    options = settings.MOTCUA["API"]
    sink = receiver()
    up = subscribe(api, sink.url())
    down = subscribe(api, f"http://127.0.0.1:{closed_port()}/down")
    dossier = walk(Status.RECEIVED)
    with transaction.atomic():
        event_record(name="task.overdue", dossier=dossier, payload={"task": 1})
    webhooks_sweep()
    delivered = Delivery.objects.filter(subscription_id=up["id"])
    failed = Delivery.objects.filter(subscription_id=down["id"])
    assert set(delivered.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    assert set(failed.values_list("status", flat=True)) == {DeliveryStatus.FAILED}
    assert delivered.count() == failed.count() == 3  # filed, received, overdue
    attempts = DeliveryAttempt.objects.count()
    now = timezone.now()

    def days(n: int):
        return now + dt.timedelta(days=n, minutes=1)

    assert api_records_prune(now=days(options["WEBHOOK_DELIVERED_DAYS"] - 1))["deliveries"] == 0
    # The delivered ones go (and their attempts), not the failed ones nor the "overdue"
    # (it keeps "overdue" told once per dossier).
    assert api_records_prune(now=days(options["WEBHOOK_DELIVERED_DAYS"]))["deliveries"] == 2
    assert list(delivered.values_list("kind", flat=True)) == [EventKind.OVERDUE]
    assert failed.count() == 3
    assert DeliveryAttempt.objects.count() == attempts - 2
    # One failed delivery replayed (pending again): kept whatever its age; the others go.
    replayed = failed.get(kind=EventKind.FILED)
    assert api.post(f"{URL}deliveries/{replayed.delivery_id}/replay/").status_code == 202
    assert api_records_prune(now=days(options["WEBHOOK_FAILED_DAYS"]))["deliveries"] == 1
    assert sorted(failed.values_list("kind", flat=True)) == [EventKind.FILED, EventKind.OVERDUE]
    assert failed.get(kind=EventKind.FILED).status == DeliveryStatus.PENDING
    with transaction.atomic():  # still once per dossier after the prune
        event_record(name="task.overdue", dossier=dossier, payload={"task": 2})
    assert Delivery.objects.filter(kind=EventKind.OVERDUE).count() == 2


# --- The expander's cost ---------------------------------------------------------------------


def test_an_event_nobody_follows_loads_no_subscription(
    api_pair, receiver, walk, province, other_province
):
    """Other agencies' subscriptions are not read at each event: one indexed query, no
    row, for an agency nobody follows; a client above the agency still hears."""
    from django.db import connection
    from django.db.models.signals import post_init
    from django.test.utils import CaptureQueriesContext

    from workflows.models import OutgoingEvent

    sink = receiver()
    for _ in range(5):
        _other, other_key = make_api_client(other_province)
        subscribe(Api(other_key), sink.url("/other"))
    dossier = walk(Status.SUBMITTED)
    event = OutgoingEvent.objects.select_related(
        "dossier__handling_agency", "dossier__procedure_version__procedure"
    ).get(dossier=dossier, name="dossier.submit")
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(instance)

    post_init.connect(count, sender=Subscription)
    try:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            made = webhooks.webhooks_expand(event)
        assert made == [] and loaded == []
        assert len([q for q in queries if "api_subscription" in q["sql"]]) == 1

        # A client of the agency above the province follows its agencies below too.
        above = province.parent
        assert above is not None
        _client, key = make_api_client(above)
        mine = subscribe(Api(key), sink.url("/above"))
        loaded.clear()
        with transaction.atomic():
            made = webhooks.webhooks_expand(event)
        assert [d.subscription_id for d in made] == [mine["id"]]
        assert [s.pk for s in loaded] == [mine["id"]]
    finally:
        post_init.disconnect(count, sender=Subscription)
