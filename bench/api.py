"""The integration API: status reads at each data size (server time p50/p95, SQL queries,
compared with a trivial authenticated API read in the same run), and submits per second
on PostgreSQL.

Reads go through Django's test client (server time, no network), with a real key of a
client of H22 holding every scope and a rate limit that never refuses the bench.

Submits are measured twice:
- one after the other through the test client, against filing the same dossier through
  the services directly (the baseline: what the API adds to the filing itself);
- as deployed (the target's measure): gunicorn with 2 workers on loopback, a Redis
  broker and one Celery worker doing the background work the submits cause (the
  messages, the webhooks), loaded by wrk with 8 connections, each request a multipart
  submit with its three files and its own Idempotency-Key. The rate counts until the
  worker has drained what the submits queued, so the background work is paid for.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workflows.services import dossiers as transitions

from .common import ROOT, Row, counting_queries, percentile, use_database

APPLICANT = {"name": "Lò Thị Mai", "id_number": "001190012345", "phone": "0912345678"}
STATUS_TARGET = 0.020  # s, p95 at 1M
SUBMIT_TARGET = 50  # per second


def _client_key() -> str:
    from api.models import ApiClient
    from api.services import api_client_create, api_client_rotate
    from procedures.models import Agency

    client = ApiClient.objects.filter(name="bench-api").first()
    if client is not None:
        return api_client_rotate(client=client)
    _client, key = api_client_create(
        name="bench-api",
        agency=Agency.objects.get(code="H22"),
        scopes=["catalog:read", "dossiers:read", "dossiers:submit", "results:read"],
        rate_limit=100_000,
    )
    return key


def _timed_reads(http, headers, urls, requests):
    times, queries, statuses = [], [], set()
    for i in range(requests + 5):
        with counting_queries() as counter:
            started = time.perf_counter()
            response = http.get(urls[i % len(urls)], headers=headers)
            elapsed = time.perf_counter() - started
        statuses.add(response.status_code)
        if i >= 5:
            times.append(elapsed)
            queries.append(counter.count)
    return {
        "p50": percentile(times, 0.5),
        "p95": percentile(times, 0.95),
        "queries": (min(queries), max(queries)),
        "statuses": sorted(statuses),
    }


def measure_reads(requests: int, seed: int = 14) -> dict[str, dict]:
    from django.test import Client

    from workflows.models import Dossier

    rng = random.Random(seed)
    key = _client_key()
    headers = {"Authorization": f"Bearer {key}"}
    ids = list(
        Dossier.objects.filter(handling_agency__code="H22")
        .exclude(status="draft")
        .values_list("pk", flat=True)[:5000]
    )
    rng.shuffle(ids)
    http = Client()
    return {
        "baseline: GET agency": _timed_reads(http, headers, ["/api/v1/agencies/H22/"], requests),
        "status": _timed_reads(http, headers, [f"/api/v1/dossiers/{i}/" for i in ids], requests),
        "timeline": _timed_reads(
            http, headers, [f"/api/v1/dossiers/{i}/timeline/" for i in ids], requests
        ),
    }


def _submission(procedure):
    from workflows.demo import sample_form_data, sample_upload

    spec = procedure.current_version.spec
    data = {
        "procedure": procedure.code,
        "agency": "H22",
        "applicant": json.dumps(APPLICANT),
        "form_data": json.dumps(sample_form_data(spec)),
    }
    for component in spec["components"]:
        data[f"file_{component['code']}"] = sample_upload(component)
    return data


def measure_submits(count: int) -> dict[str, float]:
    """API submits per second, and the same filing through the services (the baseline)."""
    from django.test import Client

    from procedures.models import Agency, Procedure
    from workflows import services
    from workflows.demo import attach_all, sample_form_data
    from workflows.models import Channel

    key = _client_key()
    procedure = Procedure.objects.get(code="1.012841")
    http = Client()
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for i in range(count):
        response = http.post(
            "/api/v1/dossiers/",
            _submission(procedure),
            headers={
                "Authorization": f"Bearer {key}",
                "Idempotency-Key": f"bench-{time.time()}-{i}",
            },
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    api_seconds = time.perf_counter() - started

    from api.models import ApiClient

    by = ApiClient.objects.get(name="bench-api").user
    agency = Agency.objects.get(code="H22")
    started = time.perf_counter()
    for _ in range(count):
        dossier = services.dossier_create(
            procedure=procedure,
            handling_agency=agency,
            channel=Channel.ONLINE,
            by=by,
            applicant=dict(APPLICANT),
            form_data=sample_form_data(procedure.current_version.spec),
        )
        attach_all(dossier, by)
        transitions.dossier_submit(dossier=dossier, by=by)
    service_seconds = time.perf_counter() - started
    return {
        "api": count / api_seconds,
        "services": count / service_seconds,
        "statuses": statuses,
    }


SUBMIT_LUA = """
local f = assert(io.open("%(body)s", "rb"))
local body = f:read("*all")
f:close()
local n = 0
local me = 0
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
  me = math.random(1, 1000000000)
end
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/dossiers/", {
    ["Authorization"] = "Bearer %(key)s",
    ["Content-Type"] = "multipart/form-data; boundary=%(boundary)s",
    ["Idempotency-Key"] = "%(run)s-" .. me .. "-" .. n,
  }, body)
end
"""
# BENCH_BROKER_URL: a broker of the bench's own, Redis (another database) or RabbitMQ (a
# virtual host of its own): its queue is emptied before the run.
BROKER_URL = os.environ.get("BENCH_BROKER_URL") or "redis://127.0.0.1:6379/14"
HTTP_WORKERS = int(os.environ.get("BENCH_HTTP_WORKERS") or 2)


def _queued(broker: str) -> int:
    """Tasks waiting in the worker's queue (Redis or RabbitMQ)."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    with Connection(broker) as connection:
        try:
            return connection.default_channel.queue_declare("celery", passive=True).message_count
        except ChannelError:  # not declared yet: nothing queued
            return 0


def _empty(broker: str) -> None:
    """What an earlier run left queued goes: the bench counts its own tasks only."""
    from kombu import Connection
    from kombu.exceptions import ChannelError

    # Not declared yet: nothing queued.
    with Connection(broker) as connection, contextlib.suppress(ChannelError):
        connection.default_channel.queue_purge("celery")


def measure_http_submits(database: str, seconds: int) -> dict:
    """Submits per second through gunicorn, with the worker's background work drained."""
    from django.db import connection, connections
    from django.test.client import BOUNDARY, encode_multipart

    from procedures.models import Procedure
    from workflows.models import Dossier

    from .http_load import WARM_UP, _free_port, _wait, _wrk

    key = _client_key()
    body = encode_multipart(BOUNDARY, _submission(Procedure.objects.get(code="1.012841")))
    before = Dossier.objects.count()
    settings_dict = connection.settings_dict
    # What autovacuum does in production (it may be off on a bench machine): the rows
    # earlier runs updated would otherwise slow this one down, run after run.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connections.close_all()
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{database}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    _empty(BROKER_URL)
    port = int(os.environ.get("BENCH_HTTP_PORT") or _free_port())
    base = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(  # noqa: S603 - our own arguments
        [
            str(bin_dir / "gunicorn"),
            "config.wsgi",
            "-w",
            str(HTTP_WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    worker = subprocess.Popen(  # noqa: S603 - our own arguments
        [
            str(bin_dir / "celery"),
            "-A",
            "config",
            "worker",
            "-c",
            "1",
            "-l",
            "warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as handle:
        handle.write(body)
    try:
        _wait(f"{base}/health/live", 120)  # each worker loads the project at its first request
        script = SUBMIT_LUA % {
            "body": handle.name,
            "key": key,
            "boundary": BOUNDARY,
            "run": f"{time.time():.0f}",
        }
        _wrk(base, script, WARM_UP)
        while _queued(BROKER_URL):
            time.sleep(0.2)
        started = time.monotonic()
        result = _wrk(base, script, seconds)
        loaded = time.monotonic() - started
        while _queued(BROKER_URL):
            time.sleep(0.2)
        drained = time.monotonic() - started
    finally:
        os.unlink(handle.name)
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=60)
    made = Dossier.objects.count() - before
    return {
        "rate": result["rate"],
        "sustained": result["total"] / drained,
        "total": result["total"],
        "errors": result["errors"],
        "p50": result["p50"],
        "p99": result["p99"],
        "loaded": loaded,
        "drained": drained,
        "made": made,
    }


def run(opts) -> list[Row]:
    from django.db import connections

    from . import generate

    rows: list[Row] = []
    sizes = sorted(opts.sizes, key=lambda s: generate.SIZES[s])
    queries_by_size = {}
    for size in sizes:
        use_database(f"{opts.database}_{size}")
        _result, made = generate.ensure(size, regenerate=opts.regenerate)
        rows.extend(made)
        results = measure_reads(opts.requests)
        base = results["baseline: GET agency"]
        for name, r in results.items():
            target = STATUS_TARGET if (name == "status" and size == "1m") else None
            bad = [s for s in r["statuses"] if s >= 400]
            rows.append(
                Row(
                    f"api {size}: {name}, p50 / p95 ms",
                    f"{r['p50'] * 1000:.1f} / {r['p95'] * 1000:.1f}",
                    f"p95 ≤ {target * 1000:.0f} ms" if target else "",
                    (r["p95"] <= target and not bad) if target else (False if bad else None),
                )
            )
            low, high = r["queries"]
            rows.append(
                Row(
                    f"api {size}: {name}, SQL queries", str(low) if low == high else f"{low}–{high}"
                )
            )
            if not name.startswith("baseline"):
                rows.append(
                    Row(f"api {size}: {name} p95 ÷ baseline p95", f"{r['p95'] / base['p95']:.2f}")
                )
            if bad:
                rows.append(Row(f"api {size}: {name}, HTTP statuses", str(r["statuses"])))
        queries_by_size[size] = results["status"]["queries"]
    if len(sizes) > 1:
        small, large = queries_by_size[sizes[0]], queries_by_size[sizes[-1]]
        rows.append(
            Row(
                f"api: status queries at {sizes[0]} vs {sizes[-1]}",
                f"{small[1]} vs {large[1]}",
                "independent of size",
                small == large,
            )
        )
    # Submits on the smallest data set: they add dossiers, and their cost does not
    # depend on the table's size (keyed inserts).
    use_database(f"{opts.database}_{sizes[0]}")
    count = 40 if opts.quick else 200
    submits = measure_submits(count)
    ok = submits["statuses"].get(201, 0) == count
    # One request at a time in one process: a latency, on one core of the machine's. The
    # target (a rate the deployed system sustains) is measured through gunicorn below.
    rows.append(
        Row(
            f"api: submits one after the other through the test client ({count}, multipart "
            "with files), per second",
            f"{submits['api']:.1f}",
            "201 for each",
            ok,
        )
    )
    rows.append(
        Row("api: services-only filings per second (baseline)", f"{submits['services']:.1f}")
    )
    rows.append(Row("api: submit rate ÷ baseline", f"{submits['api'] / submits['services']:.2f}"))
    if not ok:
        rows.append(Row("api: submit HTTP statuses", str(submits["statuses"])))
    if not opts.skip_http:
        http = measure_http_submits(f"{opts.database}_{sizes[0]}", opts.http_seconds)
        rows.append(
            Row(
                f"api: submits per second through gunicorn (2 workers, Redis broker, 1 Celery "
                f"worker, wrk 8 connections, {opts.http_seconds} s; until the worker drained)",
                f"{http['sustained']:.1f}",
                f"≥ {SUBMIT_TARGET}/s",
                http["errors"] == 0 and http["sustained"] >= SUBMIT_TARGET,
            )
        )
        rows.append(
            Row(
                "api: submits through gunicorn: answered per second, p50 / p99 ms",
                f"{http['rate']:.1f}, {http['p50']:.0f} / {http['p99']:.0f}",
            )
        )
        rows.append(
            Row(
                "api: submits through gunicorn: errors, worker drained after",
                f"{http['errors']} of {http['total']}, {http['drained']:.1f} s "
                f"(load {http['loaded']:.1f} s)",
                "0 errors",
                http["errors"] == 0,
            )
        )
        rows.append(
            Row(
                "api: submits through gunicorn ÷ one-by-one through the test client",
                f"{http['sustained'] / submits['api']:.2f}",
            )
        )
    connections.close_all()
    use_database(opts.database)
    for row in rows:
        row.part = "api"
    return rows
