"""The data generator: N dossiers with their history, viewflow processes and tasks, due
dates and timeliness, over 60 handling agencies, 50 procedures and three years ending
today, written with PostgreSQL COPY.

    python bench/generate.py --size 10k|100k|1m      (into DATABASE_URL's database)

Each size lives in its own database (bench/run.py uses <name>_<size>); the generator
refuses a database that already holds dossiers, unless ``--force`` (it then empties the
dossier tables first). It records what it made in a ``bench_dataset`` table, so a later
run reuses a data set of the right size.

What it writes, per dossier (realistic mixes, drawn with a fixed seed):
- the dossier: code ``<agency>-<YYMMDD>-<n>``, lookup secret, channel (90 % online), the
  applicant (one citizen account per ten dossiers), procedure version, filing, reception,
  decision and closing times, appointment date by the working-day calendar (holidays
  included), status, timeliness and processing time when finished;
- its viewflow process (``DossierProcess``) and one ``DossierTask`` per human stage
  reached, each with its agency, role, due date (the stage's cumulative share of the time
  limit), owner, status (done, or open: offered or held) and timeliness when done, with
  the copies of viewflow's status, finishing time and owner and of the handling agency;
- its history: create, submit, each claim and each decision, issue.

Mixes: 3 % refused at the desk, 2 % withdrawn, 4 % refused after appraisal, the rest
issued; of the finished, 60 % early, 25 % on the day, 15 % late (1 to 8 working days);
3 % of the dossiers in progress wait for a supplement. A dossier is in progress when its
planned path ends after today.

Not written (documented in bench/README.md): the gateway/start/end task rows and the
``previous`` links of viewflow (only human tasks are read by the pages), outgoing events
and messages, component files. History entries are chained (each ``prev_hash`` is the
previous entry's ``hash``) but the hashes are not of the entries' content, so
``verify_history`` reports generated dossiers as edited.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import math
import random
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SIZES, Row, prepare, setup  # noqa: E402

AGENCIES = 60
PROCEDURES = 50
YEARS = 3
CHUNK = 20_000
PASSWORD = "bench-pass-2026"  # noqa: S105 - bench accounts only
ROLES = ("reception", "specialist", "head", "signer")
STAGES = ("reception", "review", "approval", "signing")
ROLE_OF = dict(zip(STAGES, ROLES, strict=True))
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
NULL = "\\N"


# --- Catalog and people ------------------------------------------------------------------------


def catalog():
    """60 handling agencies (the central body, the shipped provinces, bench provinces) and
    50 procedures (the shipped five and bench copies of a province-level one), with one
    officer per role in each agency and supervisors."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from config.search import search_text
    from procedures.models import Agency, OfficerRole, Procedure, ProcedureVersion

    central = Agency.objects.get(code="G16")
    handling = list(
        Agency.objects.exclude(kind=Agency.Kind.DEPARTMENT).order_by("path")
    )  # G16 and the shipped provinces
    for i in range(1, AGENCIES - len(handling) + 1):
        code = f"BP{i:02d}"
        agency, _ = Agency.objects.get_or_create(
            code=code,
            defaults={
                "name": f"Ban Dân tộc tỉnh thử {i:02d}",
                "name_en": f"Bench province {i:02d}",
                "kind": Agency.Kind.PROVINCE,
                "province": f"Tỉnh thử {i:02d}",
                "parent": central,
                "path": f"{central.path}{code}/",
            },
        )
    handling = list(Agency.objects.exclude(kind=Agency.Kind.DEPARTMENT).order_by("path"))
    template = Procedure.objects.get(code="1.012842").current_version
    limits = (5, 7, 10, 12, 15, 20, 30)
    existing = Procedure.objects.count()
    for i in range(1, PROCEDURES - existing + 1):
        code = f"BENCH.{i:03d}"
        if Procedure.objects.filter(code=code).exists():
            continue
        procedure = Procedure.objects.create(code=code)
        limit = limits[i % len(limits)]
        spec = {**template.spec, "code": code, "time_limit_days": limit}
        version = ProcedureVersion.objects.create(
            procedure=procedure,
            number=1,
            content_hash=hashlib.sha256(code.encode()).hexdigest(),
            source_file=f"bench/{code}.yaml",
            effective_from=dt.date(2020, 1, 1),
            name=f"Thủ tục thử {i:03d}",
            name_en=f"Bench procedure {i:03d}",
            sector=template.sector,
            agency_level=template.agency_level,
            time_limit_days=limit,
            online_level=template.online_level,
            fee=template.fee,
            spec=spec,
            search_text=search_text(code, f"Thủ tục thử {i:03d}", f"Bench procedure {i:03d}"),
        )
        procedure.current_version = version
        procedure.save(update_fields=["current_version"])
    User = get_user_model()
    password = make_password(PASSWORD)
    officers = {}
    for agency in handling:
        for role in ROLES:
            user, _ = User.objects.get_or_create(
                username=f"bench-{agency.code.lower()}-{role}",
                defaults={"password": password, "first_name": f"{role} {agency.code}"},
            )
            OfficerRole.objects.get_or_create(user=user, agency=agency, role=role)
            officers[(agency.pk, role)] = user.pk
    for username, code in (("bench-supervisor", "G16"), ("bench-supervisor-h22", "H22")):
        user, _ = User.objects.get_or_create(username=username, defaults={"password": password})
        OfficerRole.objects.get_or_create(
            user=user, agency=Agency.objects.get(code=code), role="supervisor"
        )
    versions = list(
        ProcedureVersion.objects.filter(procedure__current_version__isnull=False)
        .filter(pk__in=Procedure.objects.values("current_version"))
        .order_by("pk")
    )
    return central, handling, versions, officers, password


def citizens(conn, count: int, password: str) -> list[int]:
    """Citizen accounts, by COPY (``bench-c<n>``); returns their ids."""
    with conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM auth_user")
        first = cur.fetchone()[0] + 1
        buffer = io.StringIO()
        joined = dt.datetime(2023, 1, 1, tzinfo=dt.UTC).isoformat()
        for i in range(count):
            pk = first + i
            buffer.write(
                f"{pk}\t{password}\tf\tbench-c{pk}\tCông dân {pk}\t\tc{pk}@bench.invalid"
                f"\tf\tt\t{joined}\n"
            )
        with cur.copy(
            "COPY auth_user (id, password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), "
            "(SELECT max(id) FROM auth_user))"
        )
    return list(range(first, first + count))


# Applicants' names, as in the provinces the catalog serves: what the officers' search
# looks for (bench/search.py). 20 x 6 x 24 names, the commonest shared by hundreds of
# dossiers at 1M.
FAMILY = [
    "Lò",
    "Giàng",
    "Vàng",
    "Sùng",
    "Hà",
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Đinh",
    "Lường",
    "Cầm",
    "Quàng",
    "Lý",
    "Đào",
    "Tòng",
    "Mùa",
    "Thào",
    "Sầm",
]
MIDDLE = ("Văn", "Thị", "A", "Seo", "Đức", "Minh")
GIVEN = [
    "Mai",
    "Páo",
    "Dế",
    "Chứ",
    "Lan",
    "Hùng",
    "Dũng",
    "Thắm",
    "Sính",
    "Vừ",
    "Khánh",
    "Hương",
    "Tùng",
    "Đạt",
    "Nhung",
    "Pàng",
    "Chu",
    "Sáng",
    "Xuân",
    "Hoa",
    "Thanh",
    "Quyết",
    "Đông",
    "Lợi",
]


def person_name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


# --- The calendar ------------------------------------------------------------------------------


class Days:
    """Working days as a list, to add N working days by index."""

    def __init__(self, start: dt.date, end: dt.date):
        from workflows.clock import working_calendar

        calendar = working_calendar()
        self.days: list[dt.date] = []
        self.index: dict[dt.date, int] = {}  # any date → index of itself or the next one
        day = start
        pending: list[dt.date] = []
        while day <= end:
            pending.append(day)
            if calendar.is_working_day(day):
                for p in pending:
                    self.index[p] = len(self.days)
                pending = []
                self.days.append(day)
            day += dt.timedelta(days=1)


# --- Dossiers ----------------------------------------------------------------------------------


def _ts(day: dt.date, hour: int, minute: int) -> str:
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:00+07"


class Ids:
    def __init__(self, cur, tables):
        self.next = {}
        for table in tables:
            cur.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - ours
            self.next[table] = cur.fetchone()[0] + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


TABLES = ("workflows_dossier", "viewflow_process", "viewflow_task", "workflows_historyentry")

COPIES = {
    "workflows_dossier": "COPY workflows_dossier (id, code, lookup_secret, procedure_version_id, "
    "handling_agency_id, channel, applicant_user_id, applicant_name, applicant_id_number, "
    "applicant_address, applicant_phone, applicant_email, filed_by_id, form_data, status, "
    "supplement_round, created_at, submitted_at, received_at, due_date, decided_at, closed_at, "
    "timeliness, processing_days, history_count, history_hash, search_text) FROM STDIN",
    "viewflow_process": "COPY viewflow_process (id, flow_class, status, created, finished, data) "
    "FROM STDIN",
    "workflows_dossierprocess": "COPY workflows_dossierprocess (process_ptr_id, dossier_id) "
    "FROM STDIN",
    "viewflow_task": "COPY viewflow_task (id, flow_task, flow_task_type, status, created, "
    "assigned, started, finished, token, owner_id, process_id, data) FROM STDIN",
    "workflows_dossiertask": "COPY workflows_dossiertask (task_ptr_id, dossier_id, agency_id, "
    "stage, role, due_date, timeliness, task_status, task_finished, task_owner_id, "
    "dossier_agency_id, search_text) FROM STDIN",
    "workflows_historyentry": "COPY workflows_historyentry (id, dossier_id, seq, at, actor_id, "
    "action, from_status, to_status, comment, data, prev_hash, hash) FROM STDIN",
}


class Writer:
    def __init__(self):
        self.buffers = {table: io.StringIO() for table in COPIES}

    def row(self, table: str, *values) -> None:
        self.buffers[table].write("\t".join(NULL if v is None else str(v) for v in values))
        self.buffers[table].write("\n")

    def flush(self, cur) -> None:
        for table, statement in COPIES.items():
            data = self.buffers[table].getvalue()
            if data:
                with cur.copy(statement) as copy:
                    copy.write(data)
            self.buffers[table] = io.StringIO()


def generate(size: int, seed: int = 2026) -> dict:
    from django.db import connection

    from config.search import search_text
    from workflows.clock import working_calendar

    rng = random.Random(seed)
    names = random.Random(seed + 1)
    started = time.perf_counter()
    central, handling, versions, officers, password = catalog()
    today = working_calendar().today()
    first_day = today.replace(year=today.year - YEARS)
    days = Days(first_day - dt.timedelta(days=10), today + dt.timedelta(days=400))
    today_idx = days.index[today]
    span = (today - first_day).days

    conn = connection.connection if connection.connection else None
    connection.ensure_connection()
    conn = connection.connection
    conn.execute("SET synchronous_commit = off")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM workflows_dossier")
        if cur.fetchone()[0]:
            raise SystemExit("this database already holds dossiers: use a fresh one, or --force")
    people = citizens(conn, max(100, size // 10), password)

    central_versions = [v for v in versions if v.agency_level == "central"]
    province_versions = [v for v in versions if v.agency_level == "province"]
    province_agencies = [a for a in handling if a.kind == "province"]
    weights = [rng.uniform(0.5, 2.0) for _ in province_agencies]
    plans = {}
    for v in versions:
        shares = [s["share"] for s in v.spec["stages"]]
        cumulative = [sum(shares[: i + 1]) for i in range(len(shares))]
        plans[v.pk] = [max(1, math.ceil(v.time_limit_days * c / 100)) for c in cumulative]
    # Every procedure runs on the one generic flow; its stage tasks are its "stage" node.
    flow = "workflows/flows.DossierFlow"
    sequences: dict[tuple[int, dt.date], int] = {}
    counts: dict[str, int] = {}

    with conn.cursor() as cur:
        ids = Ids(cur, TABLES)
        writer = Writer()
        # Submission times, oldest first, so ids follow time as in production.
        moments = sorted(rng.random() for _ in range(size))
        for n, fraction in enumerate(moments):
            if rng.random() < 0.02:
                agency, version = central, rng.choice(central_versions)
            else:
                agency = rng.choices(province_agencies, weights)[0]
                version = rng.choice(province_versions)
            limit = version.time_limit_days
            submit_day = first_day + dt.timedelta(days=int(fraction * span))
            if submit_day > today:
                submit_day = today
            sub_idx = days.index[submit_day]
            if days.days[min(sub_idx, len(days.days) - 1)] != submit_day:
                submit_day = days.days[sub_idx]  # filed online on a day off: count from Monday
            if sub_idx > today_idx:
                sub_idx, submit_day = today_idx, days.days[today_idx]
            submitted = _ts(submit_day, rng.randint(7, 16), rng.randint(0, 59))
            created = submitted
            pick = rng.random()
            outcome = (
                "rejected_at_reception"
                if pick < 0.03
                else "withdrawn"
                if pick < 0.05
                else "refused"
                if pick < 0.09
                else "issued"
            )
            rec_idx = sub_idx + (0 if rng.random() < 0.7 else 1)
            speed = rng.random()
            if speed < 0.60:
                total = rng.randint(max(1, int(0.3 * limit)), max(1, limit - 1))
                if total >= limit:
                    total = limit
            elif speed < 0.85:
                total = limit
            else:
                total = limit + rng.randint(1, 8)
            stage_due = plans[version.pk]
            # Planned done day of each stage (index into days), by the stage's share.
            plan = [
                rec_idx,
                rec_idx + max(1, round(total * 0.65)) if total > 1 else rec_idx + 1,
                rec_idx + max(1, round(total * 0.8)) if total > 1 else rec_idx + 1,
                rec_idx + total,
            ]
            plan = [min(p, rec_idx + total) for p in plan]
            if outcome == "rejected_at_reception":
                stages_done = 1 if rec_idx <= today_idx else 0
                final = stages_done == 1
            elif outcome == "withdrawn":
                wd_idx = rec_idx + rng.randint(0, max(1, total // 2))
                final = wd_idx <= today_idx
                stages_done = sum(1 for p in plan[:2] if p <= min(wd_idx, today_idx) and p < wd_idx)
            else:
                stages_done = sum(1 for p in plan if p <= today_idx)
                final = stages_done == 4
                if outcome == "refused":
                    stages_done = min(stages_done, 3)
                    final = plan[2] <= today_idx
            dossier_id = ids.take("workflows_dossier")
            process_id = ids.take("viewflow_process")
            seq_key = (agency.pk, submit_day)
            sequences[seq_key] = sequences.get(seq_key, 0) + 1
            code = f"{agency.code}-{submit_day:%y%m%d}-{sequences[seq_key]:04d}"
            secret = "".join(rng.choice(ALPHABET) for _ in range(8))
            online = rng.random() < 0.9
            applicant = rng.choice(people) if online else None
            reception = officers[(agency.pk, "reception")]
            # Names from their own generator: the other draws stay as they were.
            name = person_name(names)
            id_number = f"{rng.randint(1, 99):03d}19{rng.randint(0, 99999999):08d}"
            received_day = days.days[rec_idx]
            received = (
                _ts(received_day, rng.randint(7, 14), rng.randint(0, 59))
                if stages_done >= 1 and outcome != "rejected_at_reception"
                else None
            )
            due = days.days[rec_idx + limit] if received else None
            status, closed, decided, timeliness, processing = "submitted", None, None, "", None
            supplement = False
            if outcome == "rejected_at_reception" and final:
                status, closed = "rejected_at_reception", _ts(received_day, 15, 30)
            elif outcome == "withdrawn" and final:
                status, closed = "withdrawn", _ts(days.days[wd_idx], 10, 0)
            elif outcome in ("issued", "refused") and final:
                end_idx = plan[3] if outcome == "issued" else plan[2]
                status = outcome
                closed = _ts(days.days[end_idx], rng.randint(8, 16), rng.randint(0, 59))
                decided = _ts(days.days[plan[2]], 11, 0)
                processing = end_idx - rec_idx
                timeliness = (
                    "early"
                    if end_idx < rec_idx + limit
                    else "on_time"
                    if end_idx == rec_idx + limit
                    else "late"
                )
            elif stages_done == 0:
                status = "submitted"
            elif stages_done == 1:
                status = "received" if rng.random() < 0.3 else "in_review"
                if rng.random() < 0.03:
                    status, supplement, due = "supplement_requested", True, None
            elif stages_done == 2:
                status = "in_review"
            else:
                status = "approved" if stages_done == 3 else "signed"
                if stages_done == 3:
                    decided = _ts(days.days[plan[2]], 11, 0)
            counts[status] = counts.get(status, 0) + 1

            # Tasks: each stage done, then the open one (unless finished or waiting).
            is_open = status not in (
                "rejected_at_reception",
                "withdrawn",
                "issued",
                "refused",
                "supplement_requested",
            )
            history: list[tuple] = [
                (created, applicant, "create", "", "draft", {"channel": "online"}),
                (submitted, applicant, "submit", "draft", "submitted", {"round": 0}),
            ]
            after = {
                "reception": ("receive", "submitted", "received"),
                "review": ("propose", "in_review", "in_review"),
                "approval": ("approve", "in_review", "approved"),
                "signing": ("sign", "approved", "signed"),
            }
            count_tasks = stages_done + (1 if is_open else 0)
            folded = search_text(code, name, id_number).replace("\n", "\\n")
            for index in range(min(4, count_tasks)):
                stage = STAGES[index]
                role = ROLE_OF[stage]
                owner = officers[(agency.pk, role)]
                task_id = ids.take("viewflow_task")
                start_idx = sub_idx if index == 0 else plan[index - 1]
                task_created = _ts(days.days[start_idx], 16, 0)
                due_idx = (sub_idx if index == 0 else rec_idx) + stage_due[index]
                task_due = days.days[due_idx]
                done = index < stages_done
                if done:
                    done_idx = plan[index]
                    finished = _ts(days.days[done_idx], 10 + index, 30)
                    task_status = "DONE"
                    task_time = (
                        "early"
                        if done_idx < due_idx
                        else "on_time"
                        if done_idx == due_idx
                        else "late"
                    )
                    writer.row(
                        "viewflow_task",
                        task_id,
                        f"{flow}.stage",
                        "HUMAN",
                        task_status,
                        task_created,
                        task_created,
                        finished,
                        finished,
                        "start",
                        owner,
                        process_id,
                        '{"action": "done"}',
                    )
                    writer.row(
                        "workflows_dossiertask",
                        task_id,
                        dossier_id,
                        agency.pk,
                        stage,
                        role,
                        task_due.isoformat(),
                        task_time,
                        task_status,
                        finished,
                        owner,
                        agency.pk,
                        folded,
                    )
                    history.append((task_created, owner, "task_claim", "", "", {"task": task_id}))
                    if stage == "review":
                        history.append(
                            (finished, owner, "start_review", "received", "in_review", {})
                        )
                    if not (outcome == "refused" and stage == "approval"):
                        action, frm, to = after[stage]
                        history.append((finished, owner, action, frm, to, {}))
                    else:
                        history.append((finished, owner, "refuse", "in_review", "refused", {}))
                else:
                    held = rng.random() < 0.5
                    writer.row(
                        "viewflow_task",
                        task_id,
                        f"{flow}.stage",
                        "HUMAN",
                        "ASSIGNED" if held else "NEW",
                        task_created,
                        task_created if held else None,
                        None,
                        None,
                        "start",
                        owner if held else None,
                        process_id,
                        "{}",
                    )
                    writer.row(
                        "workflows_dossiertask",
                        task_id,
                        dossier_id,
                        agency.pk,
                        stage,
                        role,
                        task_due.isoformat(),
                        "",
                        "ASSIGNED" if held else "NEW",
                        None,
                        owner if held else None,
                        agency.pk,
                        folded,
                    )
                    if held:
                        history.append(
                            (task_created, owner, "task_claim", "", "", {"task": task_id})
                        )
            if status == "rejected_at_reception":
                history.append((closed, reception, "reject_at_reception", "submitted", status, {}))
            elif status == "withdrawn":
                history.append((closed, applicant, "withdraw", "", status, {}))
            elif status == "issued":
                history.append((closed, None, "issue", "signed", "issued", {}))
            elif supplement:
                history.append((received, reception, "request_supplement", "in_review", status, {}))
            prev = ""
            for seq, (at, actor, action, frm, to, data) in enumerate(history, start=1):
                digest = hashlib.sha256(f"{dossier_id}:{seq}:{prev}".encode()).hexdigest()
                writer.row(
                    "workflows_historyentry",
                    ids.take("workflows_historyentry"),
                    dossier_id,
                    seq,
                    at,
                    actor,
                    action,
                    frm,
                    to,
                    "",
                    json.dumps(data),
                    prev,
                    digest,
                )
                prev = digest
            writer.row(
                "workflows_dossier",
                dossier_id,
                code,
                secret,
                version.pk,
                agency.pk,
                "online" if online else "desk",
                applicant,
                name,
                id_number,
                "Bản Cốc Lếu",
                "0912345678",
                "",
                applicant if online else reception,
                "{}",
                status,
                1 if supplement else 0,
                created,
                submitted,
                received,
                due.isoformat() if due else None,
                decided,
                closed,
                timeliness,
                processing,
                len(history),
                prev,
                folded,
            )
            writer.row(
                "viewflow_process",
                process_id,
                flow,
                "DONE"
                if status in ("issued", "refused", "rejected_at_reception")
                else ("CANCELED" if status == "withdrawn" else "NEW"),
                created,
                closed,
                "{}",
            )
            writer.row("workflows_dossierprocess", process_id, dossier_id)
            if (n + 1) % CHUNK == 0:
                writer.flush(cur)
                conn.commit()
        writer.flush(cur)
        buffer = io.StringIO()
        for (agency_pk, day), last in sequences.items():
            buffer.write(f"{agency_pk}\t{day.isoformat()}\t{last}\n")
        with cur.copy("COPY workflows_dossiercodesequence (agency_id, day, last) FROM STDIN") as c:
            c.write(buffer.getvalue())
        for table in TABLES:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"
            )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (size integer, seed integer, "
            "made_at timestamptz, seconds real, counts jsonb)"
        )
        cur.execute("DELETE FROM bench_dataset")
        seconds = time.perf_counter() - started
        cur.execute(
            "INSERT INTO bench_dataset VALUES (%s, %s, now(), %s, %s)",
            (size, seed, seconds, json.dumps(counts)),
        )
        conn.commit()
        for table in (*TABLES, "workflows_dossiertask", "workflows_dossierprocess", "auth_user"):
            cur.execute(f"ANALYZE {table}")
    conn.commit()
    return {"seconds": time.perf_counter() - started, "counts": counts}


def existing(cur) -> int | None:
    cur.execute("SELECT to_regclass('bench_dataset') IS NOT NULL")
    if not cur.fetchone()[0]:
        return None
    cur.execute("SELECT size FROM bench_dataset")
    row = cur.fetchone()
    return row[0] if row else None


def wipe(cur) -> None:
    # The history refuses TRUNCATE unless its owner says this (workflows migration 0015).
    cur.execute("SET motcua.truncate_history = 'on'")
    cur.execute(
        "TRUNCATE workflows_historyentry, workflows_dossiertask, workflows_dossierprocess, "
        "viewflow_task_previous, viewflow_task, viewflow_process, workflows_outgoingevent, "
        "notifications_message, workflows_dossiercodesequence, workflows_dossiercomponent, "
        "workflows_taskwarning, workflows_dossierwarning, workflows_servicerating, "
        "workflows_historysealhead, workflows_historyseal, workflows_dossier CASCADE"
    )
    cur.execute("RESET motcua.truncate_history")
    cur.execute("DELETE FROM auth_user WHERE username LIKE 'bench-c%'")


def ensure(size_name: str, *, regenerate: bool = False) -> tuple[dict | None, list[Row]]:
    """Make sure the current database holds the data set of this size; returns the
    generation's figures when it had to make it."""
    from django.db import connection

    size = SIZES[size_name]
    with connection.cursor() as cur:
        have = existing(cur)
    if have == size and not regenerate:
        return None, []
    with connection.cursor() as cur:
        wipe(cur)
    result = generate(size)
    rows = [
        Row(
            f"data generator: {size_name} dossiers, minutes",
            f"{result['seconds'] / 60:.1f}",
            "minutes, not hours",
            result["seconds"] < 3600,
            "generate",
        )
    ]
    return result, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=sorted(SIZES), default="10k")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    setup()
    from django.db import connection

    prepare()
    if args.force:
        with connection.cursor() as cur:
            wipe(cur)
    result = generate(SIZES[args.size])
    print(f"{args.size}: {result['seconds']:.0f} s; states: {result['counts']}")


if __name__ == "__main__":
    main()
