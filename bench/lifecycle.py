"""Lifecycle throughput: N dossiers walk submit → receive → review → approve → sign →
issue in one process, three ways on the same database.

- **motcua**: the real service layer (``workflows.services.work``): the flow's lock,
  permission checks, the dossier's state machine, the hash-chained history, stage due
  dates, outgoing events and the notification messages they expand into (written in the
  same transaction). Delivery is switched off: the after-commit dispatch is a no-op, so
  no e-mail, SMS or PDF work runs here.
- **bare viewflow**: the same flow shape (4 human tasks, an If gateway, the end) on bare
  viewflow 2.4 (``bench.bareflow``) with the same ``SelectForUpdateLock``: no dossier, no
  history, no time limits, no outbox.
- **floor**: plain psycopg writing the rows motcua writes for one lifecycle (process,
  tasks, dossier updates, history entries, events, messages) with one statement per row
  and the same transactions, none of the reads.

Drafts (form and files) are made before the clock starts: filing a draft is the portal's
work, not the lifecycle's.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from .common import Row, counting_queries, fmt

HUMAN_TASKS = 4
STEPS = (
    ("reception", "accept", {}),
    ("review", "propose", {"decision": "approve", "opinion": "Đủ điều kiện."}),
    ("approval", "approve", {}),
    ("signing", "sign", {}),
)


def _officers():
    from django.contrib.auth import get_user_model

    from procedures.models import Agency, OfficerRole

    province = Agency.objects.get(code="H22")
    users = {}
    for role in ("reception", "specialist", "head", "signer"):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-life-{role}")
        OfficerRole.objects.get_or_create(user=user, agency=province, role=role)
        users[role] = get_user_model().objects.get(pk=user.pk)
    citizen, _ = get_user_model().objects.get_or_create(username="bench-life-citizen")
    return province, users, citizen


def _drafts(n, province, citizen):
    from procedures.models import Procedure
    from workflows import services
    from workflows.demo import attach_all, sample_form_data

    procedure = Procedure.objects.get(code="1.012841")
    drafts = []
    for _ in range(n):
        dossier = services.dossier_create(
            procedure=procedure,
            handling_agency=province,
            channel="online",
            by=citizen,
            applicant_user=citizen,
            applicant={"name": "Lò Thị Mai", "id_number": "001190012345", "phone": "0912345678"},
            form_data=sample_form_data(procedure.current_version.spec),
        )
        attach_all(dossier, citizen)
        drafts.append(dossier)
    return drafts


def _no_delivery():
    """The outbox rows are written (motcua's cost); their dispatch after commit is not."""
    from workflows import tasks

    tasks.dispatch_event.delay = lambda *args, **kwargs: None


def motcua_lifecycle(dossier, users, citizen):
    from viewflow.workflow.status import STATUS

    from workflows.models import DossierTask
    from workflows.services import work

    dossier = work.application_submit(dossier=dossier, by=citizen)
    role_of = {"reception": "reception", "review": "specialist", "approval": "head"}
    for stage, action, form in STEPS:
        officer = users[role_of.get(stage, "signer")]
        task = DossierTask.objects.get(dossier=dossier, stage=stage, status=STATUS.NEW)
        work.task_claim(task=task, by=officer)
        dossier = work.task_complete(task=task, by=officer, action=action, form=form)
    return dossier


def statements_per_action(dossier, users, citizen) -> list[tuple[str, int]]:
    """One more lifecycle, its SQL statements counted action by action (what an officer's
    click costs the database)."""
    from viewflow.workflow.status import STATUS

    from workflows.models import DossierTask
    from workflows.services import work

    counts = []
    with counting_queries() as counter:
        dossier = work.application_submit(dossier=dossier, by=citizen)
    counts.append(("submit", counter.count))
    role_of = {"reception": "reception", "review": "specialist", "approval": "head"}
    for stage, action, form in STEPS:
        officer = users[role_of.get(stage, "signer")]
        task = DossierTask.objects.get(dossier=dossier, stage=stage, status=STATUS.NEW)
        with counting_queries() as counter:
            work.task_claim(task=task, by=officer)
        counts.append((f"{stage}: claim", counter.count))
        with counting_queries() as counter:
            dossier = work.task_complete(task=task, by=officer, action=action, form=form)
        counts.append((f"{stage}: {action}", counter.count))
    return counts


def bare_lifecycle(user):
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    from .bareflow.flows import BareFlow

    process = BareFlow.start.run(applicant="Lò Thị Mai")
    for _stage in ("reception", "review", "approval", "signing"):
        task = Task.objects.get(process=process, flow_task_type="HUMAN", status=STATUS.NEW)
        with task.activation() as activation:
            activation.assign(user)
        with task.activation() as activation:
            if task.flow_task is BareFlow.approval:
                activation.process.data["approved"] = True
            activation.start(None)
            activation.execute()
    return process


def _measure(n, one) -> tuple[float, float]:
    with counting_queries() as counter:
        started = time.perf_counter()
        for i in range(n):
            one(i)
        elapsed = time.perf_counter() - started
    return elapsed, counter.count / n


# --- The floor: plain psycopg -------------------------------------------------------------------


def _floor_connection():
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )


def floor_lifecycle(conn, ids) -> None:
    """The rows one motcua lifecycle writes (see the module docstring), each transaction
    as motcua's: submit; then per stage a claim and a completion; issue with signing."""
    agency, version, citizen, officers, stage_flow = ids
    counter = [0]

    def hist(cur, dossier_id, seq, prev, action, frm, to):
        counter[0] += 1
        h = hashlib.sha256(f"{dossier_id}{seq}{action}{prev}".encode()).hexdigest()
        cur.execute(
            "INSERT INTO workflows_historyentry (dossier_id, seq, at, actor_id, action, "
            "from_status, to_status, comment, data, prev_hash, hash) VALUES "
            "(%s, %s, now(), %s, %s, %s, %s, '', %s, %s, %s)",
            (dossier_id, seq, citizen, action, frm, to, json.dumps({"round": 0}), prev, h),
        )
        cur.execute(
            "UPDATE workflows_dossier SET status = %s, history_count = %s, history_hash = %s "
            "WHERE id = %s",
            (to, seq, h, dossier_id),
        )
        return h

    def event(cur, dossier_id, name):
        cur.execute(
            "INSERT INTO workflows_outgoingevent (name, dossier_id, payload, created_at, "
            "next_attempt_at, attempts, last_error) VALUES (%s, %s, %s, now(), now(), 0, '') "
            "RETURNING id",
            (name, dossier_id, json.dumps({"code": "X"})),
        )
        event_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO notifications_message (uid, event_id, recipient_id, channel, kind, "
            "language, template_version, to_address, subject, body, link, status, attempts, "
            "next_attempt_at, created_at, handset_status, provider_id) VALUES (%s, %s, %s, "
            "'in_app', %s, 'vi', 'b', '', 's', 'b', '', 'created', 0, now(), now(), '', '')",
            (str(uuid.uuid4()), event_id, citizen, name[:40]),
        )

    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "INSERT INTO workflows_dossier (channel, applicant_name, applicant_id_number, "
            "applicant_address, applicant_phone, applicant_email, form_data, status, "
            "supplement_round, created_at, history_count, history_hash, applicant_user_id, "
            "filed_by_id, handling_agency_id, procedure_version_id, lookup_secret, timeliness, "
            "search_text) "
            "VALUES ('online', 'Lò Thị Mai', '', '', '', '', '{}', 'draft', 0, now(), 0, '', "
            "%s, %s, %s, %s, '', '', 'lo thi mai') RETURNING id",
            (citizen, citizen, agency, version),
        )
        dossier_id = cur.fetchone()[0]
    seq, prev = 0, ""
    with conn.transaction(), conn.cursor() as cur:  # submit: code, history, event, process
        cur.execute(
            "UPDATE workflows_dossier SET code = %s, lookup_secret = 'ABCDEFGH', "
            "submitted_at = now() WHERE id = %s",
            (f"FLOOR-{dossier_id}", dossier_id),
        )
        seq += 1
        prev = hist(cur, dossier_id, seq, prev, "submit", "draft", "submitted")
        event(cur, dossier_id, "dossier.submit")
        cur.execute(
            "INSERT INTO viewflow_process (flow_class, status, created, data) VALUES "
            "('workflows/flows.DossierFlow', 'NEW', now(), '{}') RETURNING id"
        )
        process_id = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO workflows_dossierprocess (process_ptr_id, dossier_id) VALUES (%s, %s)",
            (process_id, dossier_id),
        )
        start = _floor_task(cur, process_id, dossier_id, agency, "start", "START", "DONE")
        task_id = _floor_task(
            cur, process_id, dossier_id, agency, "reception", "HUMAN", "NEW", start
        )
        event(cur, dossier_id, "task.offered")
    statuses = ("received", "in_review", "approved", "signed")
    for index, (stage, _action, _form) in enumerate(STEPS):
        officer = officers[index]
        with conn.transaction(), conn.cursor() as cur:  # claim
            cur.execute("SELECT id FROM viewflow_process WHERE id = %s FOR UPDATE", (process_id,))
            cur.execute(
                "UPDATE viewflow_task SET owner_id = %s, status = 'ASSIGNED', assigned = now() "
                "WHERE id = %s",
                (officer, task_id),
            )
            cur.execute(
                "UPDATE workflows_dossiertask SET task_status = 'ASSIGNED' WHERE task_ptr_id = %s",
                (task_id,),
            )
            seq += 1
            prev = hist(cur, dossier_id, seq, prev, "task_claim", statuses[index - 1], "x")
        with conn.transaction(), conn.cursor() as cur:  # complete
            cur.execute("SELECT id FROM viewflow_process WHERE id = %s FOR UPDATE", (process_id,))
            seq += 1
            prev = hist(cur, dossier_id, seq, prev, stage, "x", statuses[index])
            event(cur, dossier_id, f"dossier.{stage}")
            cur.execute(
                "UPDATE viewflow_task SET status = 'DONE', started = now(), finished = now(), "
                'data = \'{"action": "x"}\' WHERE id = %s',
                (task_id,),
            )
            cur.execute(
                "UPDATE workflows_dossiertask SET timeliness = 'early', task_status = 'DONE' "
                "WHERE task_ptr_id = %s",
                (task_id,),
            )
            if stage != "signing":
                switch = _floor_task(
                    cur, process_id, dossier_id, agency, "switch", "SWITCH", "DONE", task_id
                )
                task_id = _floor_task(
                    cur, process_id, dossier_id, agency, STEPS[index + 1][0], "HUMAN", "NEW", switch
                )
                event(cur, dossier_id, "task.offered")
            else:
                issue = _floor_task(
                    cur, process_id, dossier_id, agency, "issue", "FUNCTION", "DONE", task_id
                )
                seq += 1
                prev = hist(cur, dossier_id, seq, prev, "issue", "signed", "issued")
                event(cur, dossier_id, "dossier.issue")
                _floor_task(cur, process_id, dossier_id, agency, "end", "END", "DONE", issue)
                cur.execute(
                    "UPDATE viewflow_process SET status = 'DONE', finished = now() WHERE id = %s",
                    (process_id,),
                )


# The generic flow's node for each step the floor writes (a stage's task is its "stage").
FLOOR_NODES = {"reception": "stage", "review": "stage", "approval": "stage", "signing": "stage"}


def _floor_task(cur, process_id, dossier_id, agency, name, kind, status, previous=None) -> int:
    cur.execute(
        "INSERT INTO viewflow_task (flow_task, flow_task_type, status, created, token, "
        "process_id, data) VALUES (%s, %s, %s, now(), 'start', %s, '{}') RETURNING id",
        (f"workflows/flows.DossierFlow.{FLOOR_NODES.get(name, name)}", kind, status, process_id),
    )
    task_id = cur.fetchone()[0]
    if previous is not None:
        cur.execute(
            "INSERT INTO viewflow_task_previous (from_task_id, to_task_id) VALUES (%s, %s)",
            (previous, task_id),
        )
    if kind == "HUMAN":
        cur.execute(
            "INSERT INTO workflows_dossiertask (task_ptr_id, stage, role, due_date, agency_id, "
            "dossier_id, timeliness, task_status) VALUES "
            "(%s, %s, 'x', current_date + 5, %s, %s, '', %s)",
            (task_id, name, agency, dossier_id, status),
        )
    return task_id


def run(opts) -> list[Row]:
    from django.db import connection

    n = 20 if opts.quick else opts.lifecycles
    province, users, citizen = _officers()
    _no_delivery()

    # Warm-up (imports, caches, first connections), not counted.
    for dossier in _drafts(2, province, citizen):
        motcua_lifecycle(dossier, users, citizen)
    bare_lifecycle(users["head"])

    drafts = _drafts(n + 1, province, citizen)
    per_action = statements_per_action(drafts.pop(), users, citizen)
    m_time, m_queries = _measure(n, lambda i: motcua_lifecycle(drafts[i], users, citizen))
    b_time, b_queries = _measure(n, lambda i: bare_lifecycle(users["head"]))

    version = drafts[0].procedure_version_id
    officer_ids = [users[r].pk for r in ("reception", "specialist", "head", "signer")]
    ids = (province.pk, version, citizen.pk, officer_ids, None)
    with _floor_connection() as conn:
        floor_lifecycle(conn, ids)  # warm-up
        started = time.perf_counter()
        for _i in range(n):
            floor_lifecycle(conn, ids)
        f_time = time.perf_counter() - started
        statements = _floor_statements(conn, ids)
    connection.close()

    def rate(t):
        return n / t

    rows = [
        Row(
            "lifecycle: motcua, lifecycles/s",
            fmt(rate(m_time)),
            "≥ bare viewflow",
            rate(m_time) >= rate(b_time),
        ),
        Row("lifecycle: motcua, human tasks/s", fmt(rate(m_time) * HUMAN_TASKS)),
        Row("lifecycle: motcua, SQL queries per lifecycle", fmt(m_queries, 0)),
        Row("lifecycle: bare viewflow, lifecycles/s", fmt(rate(b_time))),
        Row("lifecycle: bare viewflow, human tasks/s", fmt(rate(b_time) * HUMAN_TASKS)),
        Row("lifecycle: bare viewflow, SQL queries per lifecycle", fmt(b_queries, 0)),
        Row("lifecycle: floor (psycopg), lifecycles/s", fmt(rate(f_time))),
        Row("lifecycle: floor (psycopg), SQL statements per lifecycle", str(statements)),
        Row("lifecycle: motcua ÷ bare viewflow (throughput)", f"{b_time / m_time:.2f}"),
        Row("lifecycle: motcua ÷ floor (throughput)", f"{f_time / m_time:.3f}"),
        *(
            Row(f"lifecycle: motcua, SQL statements, {name}", str(count))
            for name, count in per_action
        ),
    ]
    for row in rows:
        row.part = "lifecycle"
    rows[0].measure += f" (N={n})"
    return rows


def _floor_statements(conn, ids) -> int:
    """Statements of one floor lifecycle, counted by wrapping the cursor's execute."""
    import psycopg

    count = [0]
    original = psycopg.Cursor.execute

    def counting(self, *args, **kwargs):
        count[0] += 1
        return original(self, *args, **kwargs)

    psycopg.Cursor.execute = counting
    try:
        floor_lifecycle(conn, ids)
    finally:
        psycopg.Cursor.execute = original
    # BEGIN and COMMIT of the 10 transactions are statements too.
    return count[0] + 2 * 10
