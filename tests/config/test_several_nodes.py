"""Several nodes, real processes: two web nodes (gunicorn, config/gunicorn.py) and two
Celery workers on one PostgreSQL database and RabbitMQ, with one beat (config.beat) and an
SMTP server inside the test. Citizens file dossiers and officers act on them, signing
included, over HTTP through both web nodes; midway one web node and one worker are killed
with SIGKILL. The other node and worker carry on, and in the end every dossier's history
verifies, no action took effect twice, and every message and event went out.

Sessions are made in the test process (tests.conftest.sign_in: what a complete login with
the second factor records) and carried to the nodes as cookies, as bench/http_load.py does;
logging in over HTTP is the browser tests' part.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from email import message_from_bytes

import pytest
import requests
from django.conf import settings
from django.db import connections
from django.test import Client

from documents.models import Document, DocumentStatus, Kind
from notifications.models import Channel, Message, MessageStatus
from portal.models import CitizenProfile
from tests.conftest import SEAL_PASSWORD, SIGNER_PASSWORD, give_certificate, make_user, sign_in
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.events import OutgoingEvent
from workflows.history import verify_all
from workflows.models import Dossier, DossierTask, Status

from .nodes import (
    amqp_url,
    celery,
    debug_traceback,
    environment,
    free_port,
    purge,
    server_records,
    start,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

CITIZENS = 4
FILINGS_EACH = 2
# How far each dossier goes, by its number: reception accepts all; review, approval and
# signing take fewer, so that the end holds dossiers in every state of the path.
STEPS = [
    ("reception", "accept", {}),
    ("review", "propose", {"propose-decision": "approve", "propose-opinion": "Đủ điều kiện"}),
    ("approval", "approve", {"approve-comment": "Đồng ý"}),
    (
        "signing",
        "sign",
        {"sign-personal": "on", "sign-seal": "on", "sign-password": SIGNER_PASSWORD},
    ),
]
DEPTH = [4, 4, 4, 3, 3, 2, 1, 1]
ROLE_OF_STAGE = {
    "reception": "reception",
    "review": "specialist",
    "approval": "head",
    "signing": "signer",
}
STATUS_AFTER = {
    0: Status.SUBMITTED,
    1: Status.RECEIVED,
    2: Status.IN_REVIEW,
    3: Status.APPROVED,
    4: Status.ISSUED,
}


class Sink:
    """The agency's mail relay: what it accepts, by Message-ID."""

    def __init__(self):
        self.received: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.received.append(message_from_bytes(envelope.content)["Message-ID"])
        return "250 Message accepted"


class Nodes:
    """Both web nodes, taken in turn; a node that stops answering is left out, and the
    request goes to the other, as a load balancer's health check would do.

    Every request carries an id of the test's own (X-Request-ID); an answer of 500 or more
    is kept with the traceback of Django's debug page, and :meth:`report` adds what the
    node's log says of that id: a failure explains itself."""

    def __init__(self, ports: list[int], logs: list | None = None):
        self.bases = [f"http://127.0.0.1:{port}" for port in ports]
        self.logs = dict(zip(self.bases, logs or [], strict=False))
        self.alive = list(self.bases)
        self.turn = 0
        self.count = 0
        self.lock = threading.Lock()
        self.served: Counter[str] = Counter()
        self.errors: list[str] = []
        self.failed: list[dict] = []

    def request(self, session: requests.Session, method: str, path: str, **kwargs):
        for _attempt in range(6):
            with self.lock:
                self.turn += 1
                self.count += 1
                base = self.alive[self.turn % len(self.alive)]
                request_id = f"several-nodes-{self.count:05d}"
            try:
                response = session.request(
                    method,
                    base + path,
                    timeout=120,
                    allow_redirects=False,
                    headers={"X-Request-ID": request_id},
                    **kwargs,
                )
            except requests.ConnectionError:
                with self.lock:
                    if base in self.alive and len(self.alive) > 1:
                        self.alive.remove(base)
                continue
            with self.lock:
                self.served[base] += 1
                if response.status_code >= 500:
                    self.errors.append(
                        f"{method} {path} on {base}: {response.status_code} ({request_id})"
                    )
                    self.failed.append(
                        {
                            "what": self.errors[-1],
                            "base": base,
                            "request_id": request_id,
                            "page": debug_traceback(response.text),
                        }
                    )
            return response
        raise AssertionError(f"{method} {path}: no node answered")

    def report(self) -> str:
        """Each failed request: the debug page's traceback, then the node's log records."""
        parts = []
        for failure in self.failed:
            log = self.logs.get(failure["base"])
            records = server_records(log, failure["request_id"]) if log else "(no log)"
            parts.append(
                f"=== {failure['what']}\n--- debug page:\n{failure['page']}\n"
                f"--- node log:\n{records}"
            )
        return "\n".join(parts)

    def explain(self, failures: list[BaseException]) -> str:
        """A plain string for an assertion's message (pytest shortens any other object's
        repr): the threads' failures, then the server's side of every failed request."""
        said = [f"{type(exc).__name__}: {exc}" for exc in failures]
        return "\n".join([*said, *self.errors, self.report()])


def http_session(user) -> requests.Session:
    client = Client()
    sign_in(client, user)
    session = requests.Session()
    session.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    return session


def csrf(nodes: Nodes, session: requests.Session, path: str) -> tuple[str, str]:
    page = nodes.request(session, "GET", path)
    assert page.status_code == 200, (path, page.status_code)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return token, page.text


def file_dossier(nodes, session, procedure, province, number) -> str:
    """The citizen's filing: the form (with its filing key), review, the declaration.
    A retry after a node died posts the same filing key: one dossier."""
    path = f"/procedures/{procedure.code}/apply/"
    token, page = csrf(nodes, session, path)
    key = re.search(r'name="filing_key" value="([^"]+)"', page).group(1)
    spec = procedure.current_version.spec
    data = {
        "csrfmiddlewaretoken": token,
        "filing_key": key,
        "agency": province.code,
        "applicant_name": f"Lò Thị Mai {number}",
        "applicant_id_number": "001190012345",
        "applicant_phone": "0912345678",
        "applicant_address": "Bản Cốc Lếu",
        "applicant_email": f"citizen{number}@example.org",
        "review": "1",
        **sample_form_data(spec),
    }
    files = {}
    for component in spec["components"]:
        if "application/pdf" in component["content_types"]:
            files[f"file_{component['code']}"] = (f"{number}.pdf", minimal_pdf(), "application/pdf")
        else:
            files[f"file_{component['code']}"] = (f"{number}.png", minimal_png(), "image/png")
    for _attempt in range(3):
        posted = nodes.request(session, "POST", path, data=data, files=files)
        if posted.status_code == 302:
            break
    assert posted.status_code == 302, (posted.status_code, posted.text[-2000:])
    review = posted.headers["Location"]
    token, _page = csrf(nodes, session, review)
    for _attempt in range(3):
        filed = nodes.request(
            session, "POST", review, data={"csrfmiddlewaretoken": token, "declaration": "on"}
        )
        if filed.status_code == 302:
            break
    assert filed.status_code == 302, (filed.status_code, filed.text[-2000:])
    return key


def act(nodes, session, task_id: int, action: str, fields: dict) -> None:
    """Claim the task, then complete it, through the task's page and its forms."""
    token, _page = csrf(nodes, session, f"/workspace/tasks/{task_id}/")
    nodes.request(
        session, "POST", f"/workspace/tasks/{task_id}/claim/", data={"csrfmiddlewaretoken": token}
    )
    nodes.request(
        session,
        "POST",
        f"/workspace/tasks/{task_id}/act/",
        data={"csrfmiddlewaretoken": token, "action": action, **fields},
    )


def open_task(dossier_id: int, stage: str) -> int | None:
    return (
        DossierTask.objects.filter(dossier_id=dossier_id, stage=stage)
        .exclude(task_status__in=["DONE", "CANCELED"])
        .values_list("pk", flat=True)
        .first()
    )


def test_two_web_nodes_and_two_workers_survive_a_sigkill(
    tmp_path, procedure, province, officers, signing
):
    from aiosmtpd.controller import Controller

    broker = amqp_url()
    purge(broker)
    give_certificate(signing, officers["signer"])
    citizens = []
    for i in range(CITIZENS):
        citizen = make_user(f"node-citizen{i}", email=f"citizen{i}@example.org")
        CitizenProfile.objects.create(
            user=citizen,
            full_name=f"Lò Thị Mai {i}",
            id_number=f"00119001234{i}",
            phone="0912345678",
            province="Lào Cai",
            commune="Xã Cốc San",
            address="Bản Cốc Lếu",
            ethnic_group="02",
            date_of_birth="1990-05-12",
        )
        citizens.append(citizen)

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    ports = [free_port(), free_port()]
    env = environment(
        broker,
        tmp_path / "var",
        DEBUG="true",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECRET_KEY=settings.SECRET_KEY,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        MOTCUA_TRUST_ROOTS=str(signing["root"] / "ca.pem"),
        MOTCUA_SEAL_DIR=str(signing["root"] / "seals"),
        MOTCUA_SEAL_PASSWORD=SEAL_PASSWORD,
        MOTCUA_MESSAGE_STUCK_SECONDS="3",
        MOTCUA_EVENT_SWEEP_SECONDS="3",
        MOTCUA_MESSAGE_SWEEP_SECONDS="3",
        MOTCUA_DOCUMENT_SWEEP_SECONDS="3",
        MOTCUA_TIMER_SECONDS="30",
        MOTCUA_ESCALATION_SECONDS="30",
        MOTCUA_HISTORY_SEAL_SECONDS="30",
        GUNICORN_WORKERS="2",
        GUNICORN_TIMEOUT="120",
    )
    (tmp_path / "var").mkdir()
    processes = []
    try:
        webs = [
            start(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "config/gunicorn.py",
                    "-b",
                    f"127.0.0.1:{port}",
                    "config.wsgi",
                ],
                env,
                tmp_path / f"web{i}.log",
            )
            for i, port in enumerate(ports)
        ]
        workers = [
            start(
                celery(
                    "worker",
                    "-c",
                    "1",
                    "-n",
                    f"node{i}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "-l",
                    "info",
                ),
                env,
                tmp_path / f"worker{i}.log",
            )
            for i in range(2)
        ]
        beat = start(
            celery("beat", "-l", "info", "-s", str(tmp_path / "schedule")),
            env,
            tmp_path / "beat.log",
        )
        processes = [*webs, *workers, beat]
        nodes = Nodes(ports, [tmp_path / f"web{i}.log" for i in range(len(ports))])

        def answers(base):
            try:
                return requests.get(base + "/", timeout=30).status_code == 200
            except requests.RequestException:
                return False

        assert wait_for(lambda: all(answers(b) for b in nodes.bases), 90), (
            tmp_path / "web0.log"
        ).read_text()[-3000:]
        assert wait_for(
            lambda: all("ready." in (tmp_path / f"worker{i}.log").read_text() for i in range(2)),
            90,
        )

        sessions = {c.pk: http_session(c) for c in citizens}
        staff = {role: http_session(officers[role]) for role in set(ROLE_OF_STAGE.values())}
        keys: list[str] = []
        failures: list[BaseException] = []
        done_steps = Counter()
        total_steps = len(DEPTH) + sum(DEPTH)
        filed = threading.Event()

        def citizen_work(citizen, numbers):
            try:
                for number in numbers:
                    keys.append(
                        file_dossier(nodes, sessions[citizen.pk], procedure, province, number)
                    )
                    done_steps["filing"] += 1
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failures.append(exc)
            finally:
                connections.close_all()

        def officer_work(stage_index):
            stage, action, fields = STEPS[stage_index]
            session = staff[ROLE_OF_STAGE[stage]]
            handled: set[int] = set()
            try:
                deadline = time.monotonic() + 240
                while time.monotonic() < deadline:
                    wanted = {
                        d.pk
                        for d in Dossier.objects.filter(filing_key__in=list(keys)).order_by("pk")
                        if DEPTH[keys.index(str(d.filing_key))] > stage_index
                    }
                    if filed.is_set() and wanted <= handled:
                        return
                    for dossier_id in sorted(wanted - handled):
                        task_id = open_task(dossier_id, stage)
                        if task_id is None:
                            continue
                        act(nodes, session, task_id, action, fields)
                        handled.add(dossier_id)
                        done_steps[stage] += 1
                    time.sleep(0.3)
                failures.append(AssertionError(f"{stage}: not done in time"))
            except BaseException as exc:  # noqa: BLE001
                failures.append(exc)
            finally:
                connections.close_all()

        threads = [
            threading.Thread(
                target=citizen_work,
                args=(c, [i * FILINGS_EACH + j for j in range(FILINGS_EACH)]),
            )
            for i, c in enumerate(citizens)
        ] + [threading.Thread(target=officer_work, args=(s,)) for s in range(len(STEPS))]
        for thread in threads:
            thread.start()

        # Midway: one web node (its master and its workers) and one worker, SIGKILL.
        assert wait_for(lambda: failures or sum(done_steps.values()) >= total_steps // 2, 240)
        assert not failures, nodes.explain(failures)
        os.killpg(webs[0].pid, signal.SIGKILL)
        os.killpg(workers[0].pid, signal.SIGKILL)
        killed_at = sum(done_steps.values())
        for thread in threads[:CITIZENS]:
            thread.join(240)
        filed.set()
        for thread in threads:
            thread.join(300)
        assert not failures, nodes.explain(failures)
        assert killed_at < total_steps
        # Both nodes served, then the survivor alone.
        assert nodes.bases[0] not in nodes.alive
        assert nodes.served[nodes.bases[0]] > 0 and nodes.served[nodes.bases[1]] > 0

        # What the workers and the sweeps have to do: render, send, dispatch.
        def settled():
            return (
                not Message.objects.exclude(status=MessageStatus.DELIVERED).exists()
                and not OutgoingEvent.objects.filter(dispatched_at__isnull=True).exists()
                and not Document.objects.filter(status=DocumentStatus.PENDING).exists()
            )

        assert wait_for(settled, 120, every=1), (
            Counter(Message.objects.values_list("status", flat=True)),
            OutgoingEvent.objects.filter(dispatched_at__isnull=True).count(),
        )
    finally:
        stop(processes)
        controller.stop()

    assert not nodes.errors, nodes.explain([])
    dossiers = list(Dossier.objects.filter(filing_key__in=keys))
    assert len(dossiers) == len(DEPTH) == len(set(keys))  # one dossier per filing
    assert list(verify_all()) == []  # every history chain, its head and its status
    for dossier in dossiers:
        depth = DEPTH[keys.index(str(dossier.filing_key))]
        assert dossier.status == STATUS_AFTER[depth], (dossier.code, dossier.status, depth)
        actions = Counter(dossier.history.values_list("action", flat=True))
        # One claim per stage taken, and every other action once.
        assert actions.pop("task_claim", 0) == depth, (dossier.code, actions)
        assert all(n == 1 for n in actions.values()), (dossier.code, actions)
        tasks = Counter(dossier.tasks.values_list("stage", "task_status"))
        for stage, _action, _fields in STEPS[:depth]:
            assert tasks[(stage, "DONE")] == 1, (dossier.code, tasks)
        waiting = [
            stage for (stage, status), n in tasks.items() for _ in range(n) if status != "DONE"
        ]
        assert waiting == [STEPS[depth][0] for _ in range(depth < len(STEPS))], (
            dossier.code,
            tasks,
        )
        if depth == 4:
            result = dossier.documents.get(kind=Kind.RESULT)
            assert result.status == DocumentStatus.SIGNED
            assert sorted(s["role"] for s in result.signatures) == ["official", "seal"]
    assert not Document.objects.filter(status=DocumentStatus.FAILED).exists()
    assert not OutgoingEvent.objects.filter(failed_at__isnull=False).exists()
    # Every message went out; a second copy only for one whose attempt the kill cut short.
    arrived = Counter(sink.received)
    emails = Message.objects.filter(channel=Channel.EMAIL)
    assert emails.exists()
    for message in emails:
        assert arrived[message.message_id] >= 1, message
        assert arrived[message.message_id] == 1 or message.attempts > 1, message
    assert set(arrived) <= {m.message_id for m in emails}
