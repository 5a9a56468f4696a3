"""Capacity: how many concurrent officers plus citizens one node (gunicorn, 2 sync workers)
serves with p95 ≤ 300 ms, on the largest data set of the run.

Each simulated person is a loop of requests with think time between them, as people use
the site (an open population, not wrk's closed loop at full speed):

- an **officer** (40 %), signed in as a bench officer of one of the agencies with the
  most offered tasks, thinks 2–8 s (uniform) between requests: the queue (30 %), a task
  page (25 %), a dossier page of the agency (25 %), and an action (20 %): claim an offered
  task, think, release it (two POSTs under the flow's lock, each writing the task and a
  hash-chained history entry);
- a **citizen** (60 %), signed in as a bench citizen, thinks 5–15 s: the catalog (20 %), a
  procedure page (15 %), "my dossiers" (25 %), one of their dossiers (35 %), and filing
  (5 %): the application form, then the form posted with its uploads (a PDF or PNG per
  component, through the upload checks to the private storage), then the declaration
  that files it (the dossier is submitted, numbered, its reception task offered, its
  messages queued).

The load steps up (10, 20, 40, 80, 120, 160, 240, 320, 480, 640, 960, 1280 people) until a
step's p95 passes 300 ms or more than 1 % of its requests fail; each step runs 8 s
(people added at a step start at random moments within one mean think time, so they do
not arrive together; before the first step, six people without think time go through
every kind of request for 16 s, not counted) before its 20 s of measured requests, longer
when that window holds fewer than 100 requests (up to 40 s). The figure is the largest
step served within the target; the next one is reported too.

Baseline, in the same run on the same server: the lookup form (``GET /lookup/``: the whole
middleware stack and a template, no query) loaded by wrk at full speed (8 connections, no
think time), the node's ceiling in requests per second. The ratio compares the request
rate the mixed workload was served at, at capacity, with that ceiling.

The web node runs as in production: Redis as cache and sessions (``CACHE_URL``), Celery
tasks sent to a broker (``BENCH_BROKER_URL``, default ``CACHE_URL``'s Redis; no worker
consumes them during the run, they are purged after it), DEBUG off. The load generator
(Python, aiohttp) runs on the same machine and shares its cores: its own CPU time is
reported. ``BENCH_HTTP_PORT`` fixes the server's port (default: any free one). The
dossiers filed stay in the data set (a few dozen to a few hundred per run, beside 10k or
1M), and a task claimed when the run stops stays claimed.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import ROOT, Row, percentile, use_database

WORKERS = 2
TARGET_MS = 300.0
MAX_ERROR_RATE = 0.01
STEPS = [10, 20, 40, 80, 120, 160, 240, 320, 480, 640, 960, 1280]
OFFICER_SHARE = 0.4
OFFICER_THINK = (2.0, 8.0)
CITIZEN_THINK = (5.0, 15.0)
FILING_PROCEDURE = "1.012841"
MIN_SAMPLES = 100


@dataclass
class Officer:
    session: str
    tasks: list[int]
    dossiers: list[int]


@dataclass
class Citizen:
    session: str
    dossiers: list[int]


@dataclass
class Plan:
    officers: list[Officer]
    citizens: list[Citizen]
    procedures: list[str]
    filing: dict  # procedure code, agency code, fields, files
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))  # 32 characters


@dataclass
class Sample:
    started: float
    ms: float
    ok: bool
    kind: str
    page: str  # method and path, ids replaced by N


def _plan(rng: random.Random) -> Plan:
    """Sessions and ids, made with Django in this process before the server starts."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.test import Client

    from portal.selectors import filing_agencies
    from procedures.models import Procedure
    from security.testing import sign_in
    from workflows.demo import minimal_pdf, minimal_png, sample_form_data
    from workflows.models import Dossier, DossierTask, Status

    User = get_user_model()

    def session(user) -> str:
        client = Client()
        sign_in(client, user)
        return client.cookies["sessionid"].value

    officers = []
    desks = (
        DossierTask.objects.filter(task_status="NEW", owner=None)
        .values("agency_id", "agency__code", "role")
        .annotate(n=Count("pk"))
        .order_by("-n")[:10]
    )
    for desk in desks:
        user = User.objects.filter(username=f"bench-{desk['agency__code'].lower()}-{desk['role']}")
        if not user.exists():
            continue
        tasks = list(
            DossierTask.objects.filter(
                task_status="NEW", owner=None, agency_id=desk["agency_id"], role=desk["role"]
            ).values_list("pk", flat=True)[:200]
        )
        dossiers = list(
            Dossier.objects.filter(handling_agency_id=desk["agency_id"])
            .exclude(status=Status.DRAFT)  # a draft is the citizen's alone
            .order_by("?")
            .values_list("pk", flat=True)[:500]
        )
        officers.append(Officer(session(user.get()), tasks, dossiers))
    citizens = []
    for user in User.objects.filter(username__startswith="bench-c").order_by("?")[:60]:
        mine = list(Dossier.objects.filter(applicant_user=user).values_list("pk", flat=True))
        if mine:
            citizens.append(Citizen(session(user), mine))
    procedure = Procedure.objects.select_related("current_version").get(code=FILING_PROCEDURE)
    spec = procedure.current_version.spec
    agency = next(iter(filing_agencies(procedure)))
    fields = {
        "agency": agency.code,
        "applicant_name": "Lò Thị Mai",
        "applicant_id_number": "001190012345",
        "applicant_phone": "0912345678",
        "applicant_address": "Bản Cốc Lếu",
        "applicant_email": "citizen@example.org",
        **sample_form_data(spec),
        "review": "1",
    }
    files = {}
    for component in spec["components"]:
        if "application/pdf" in component["content_types"]:
            files[f"file_{component['code']}"] = (
                f"{component['code']}.pdf",
                minimal_pdf(),
                "application/pdf",
            )
        else:
            files[f"file_{component['code']}"] = (
                f"{component['code']}.png",
                minimal_png(),
                "image/png",
            )
    procedures = list(
        Procedure.objects.filter(is_active=True, current_version__isnull=False).values_list(
            "code", flat=True
        )
    )
    rng.shuffle(citizens)
    return Plan(
        officers=officers,
        citizens=citizens,
        procedures=procedures,
        filing={"code": procedure.code, "agency": agency.code, "fields": fields, "files": files},
    )


class Load:
    """The simulated people, sharing one event loop; every request is one Sample."""

    def __init__(self, base: str, plan: Plan, rng: random.Random):
        self.base = base
        self.plan = plan
        self.rng = rng
        self.samples: list[Sample] = []
        self.people: list[asyncio.Task] = []
        self.stopping = False
        self.officer_think = OFFICER_THINK
        self.citizen_think = CITIZEN_THINK

    async def _request(self, http, kind: str, method: str, path: str, **kwargs) -> str | None:
        import aiohttp

        started = time.monotonic()
        try:
            async with http.request(
                method, self.base + path, allow_redirects=False, **kwargs
            ) as response:
                body = await response.read()
                ok = response.status < 400
                location = response.headers.get("Location")
        except (TimeoutError, aiohttp.ClientError):
            body, ok, location = b"", False, None
        page = method + " " + re.sub(r"\d+", "N", path.split("?")[0])
        self.samples.append(Sample(started, (time.monotonic() - started) * 1000, ok, kind, page))
        if method == "GET":
            return body.decode("utf-8", "replace") if ok else None
        return location if ok else None

    def _client(self, session: str):
        """One person's connection pool; their cookies in every request's header (no jar:
        aiohttp keeps no cookie for an IP address host, and nothing here changes them)."""
        import aiohttp

        return aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Cookie": f"sessionid={session}; csrftoken={self.plan.csrf}"},
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def _think(self, bounds) -> None:
        await asyncio.sleep(self.rng.uniform(*bounds))

    async def officer(self, person: Officer, delay: float) -> None:

        await asyncio.sleep(delay)
        async with self._client(person.session) as http:
            while not self.stopping:
                roll = self.rng.random()
                if roll < 0.30 or not person.tasks:
                    await self._request(http, "officer", "GET", "/workspace/queue/")
                elif roll < 0.55:
                    task = self.rng.choice(person.tasks)
                    await self._request(http, "officer", "GET", f"/workspace/tasks/{task}/")
                elif roll < 0.80:
                    dossier = self.rng.choice(person.dossiers)
                    await self._request(http, "officer", "GET", f"/workspace/dossiers/{dossier}/")
                else:
                    task = self.rng.choice(person.tasks)
                    form = {"csrfmiddlewaretoken": self.plan.csrf}
                    path = f"/workspace/tasks/{task}/"
                    await self._request(http, "officer", "POST", path + "claim/", data=form)
                    await self._think(self.officer_think)
                    await self._request(http, "officer", "POST", path + "release/", data=form)
                await self._think(self.officer_think)

    async def citizen(self, person: Citizen, delay: float) -> None:

        await asyncio.sleep(delay)
        async with self._client(person.session) as http:
            while not self.stopping:
                roll = self.rng.random()
                if roll < 0.20:
                    await self._request(http, "citizen", "GET", "/")
                elif roll < 0.35:
                    code = self.rng.choice(self.plan.procedures)
                    await self._request(http, "citizen", "GET", f"/procedures/{code}/")
                elif roll < 0.60:
                    await self._request(http, "citizen", "GET", "/me/dossiers/")
                elif roll < 0.95:
                    dossier = self.rng.choice(person.dossiers)
                    await self._request(http, "citizen", "GET", f"/me/dossiers/{dossier}/")
                else:
                    await self._file(http)
                await self._think(self.citizen_think)

    async def _file(self, http) -> None:
        import aiohttp

        filing = self.plan.filing
        page = await self._request(
            http,
            "filing",
            "GET",
            f"/procedures/{filing['code']}/apply/?agency={filing['agency']}",
        )
        match = re.search(r'name="filing_key" value="([^"]+)"', page or "")
        if not match:
            return
        await self._think(self.citizen_think)
        form = aiohttp.FormData()
        for name, value in {
            **filing["fields"],
            "filing_key": match.group(1),
            "csrfmiddlewaretoken": self.plan.csrf,
        }.items():
            for item in value if isinstance(value, list) else [value]:
                form.add_field(name, item)
        for name, (filename, content, content_type) in filing["files"].items():
            form.add_field(name, content, filename=filename, content_type=content_type)
        review = await self._request(
            http, "filing", "POST", f"/procedures/{filing['code']}/apply/", data=form
        )
        if not review or "/review/" not in review:
            self.samples[-1].ok = False  # the form came back with errors: not filed
            return
        await self._think(self.citizen_think)
        await self._request(
            http,
            "filing",
            "POST",
            review.removeprefix(self.base),
            data={"declaration": "on", "csrfmiddlewaretoken": self.plan.csrf},
        )

    def grow(self, total: int, think_mean: float) -> None:
        """Bring the population to ``total`` people, 40 % officers."""
        while len(self.people) < total:
            index = len(self.people)
            delay = self.rng.uniform(0, think_mean)
            officers_so_far = sum(1 for t in self.people if t.get_name().startswith("o"))
            if officers_so_far < OFFICER_SHARE * (index + 1):
                person = self.plan.officers[officers_so_far % len(self.plan.officers)]
                task = asyncio.create_task(self.officer(person, delay), name=f"o{index}")
            else:
                citizen_index = index - officers_so_far
                person = self.plan.citizens[citizen_index % len(self.plan.citizens)]
                task = asyncio.create_task(self.citizen(person, delay), name=f"c{index}")
            self.people.append(task)

    async def stop(self) -> None:
        self.stopping = True
        for task in self.people:
            task.cancel()
        await asyncio.gather(*self.people, return_exceptions=True)


def _summary(samples: list[Sample], start: float, end: float) -> dict:
    window = [s for s in samples if start <= s.started < end]
    if not window:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "errors": 0, "rate": 0.0, "by_kind": {}}
    times = [s.ms for s in window]
    by_kind = {}
    for kind in ("officer", "citizen", "filing"):
        mine = [s.ms for s in window if s.kind == kind]
        if mine:
            by_kind[kind] = (len(mine), percentile(mine, 0.95))
    pages = {}
    for page in sorted({s.page for s in window}):
        mine = [s.ms for s in window if s.page == page]
        pages[page] = (len(mine), percentile(mine, 0.50), percentile(mine, 0.95))
    return {
        "pages": pages,
        "n": len(window),
        "p50": percentile(times, 0.50),
        "p95": percentile(times, 0.95),
        "errors": sum(1 for s in window if not s.ok),
        "rate": len(window) / (end - start),
        "by_kind": by_kind,
    }


async def _prime(base: str, plan: Plan, seconds: float) -> None:
    """Every kind of request, many times, through both workers, not counted: templates
    compiled, connections open, caches filled before the first step."""
    load = Load(base, plan, random.Random(3))
    load.officer_think = load.citizen_think = (0.0, 0.1)
    load.grow(6, 0.0)
    await asyncio.sleep(seconds)
    await load.stop()


async def _ramp(base: str, plan: Plan, warm: float, window: float, log) -> list[dict]:
    await _prime(base, plan, warm * 2)
    rng = random.Random(17)
    load = Load(base, plan, rng)
    think_mean = (
        OFFICER_SHARE * sum(OFFICER_THINK) / 2 + (1 - OFFICER_SHARE) * sum(CITIZEN_THINK) / 2
    )
    steps = []
    try:
        for people in STEPS:
            load.grow(people, think_mean)
            cpu = time.process_time()
            await asyncio.sleep(warm)
            start = time.monotonic()
            await asyncio.sleep(window)
            # A p95 needs samples: a small population is measured longer (up to 2 windows).
            while (
                sum(1 for s in load.samples if s.started >= start) < MIN_SAMPLES
                and time.monotonic() - start < 2 * window
            ):
                await asyncio.sleep(1)
            result = _summary(load.samples, start, time.monotonic())
            result["people"] = people
            result["client_cpu"] = (time.process_time() - cpu) / (warm + time.monotonic() - start)
            steps.append(result)
            for page, (n, p50, p95) in result["pages"].items():
                log(f"      {page}: {n}, p50 {p50:.0f} ms, p95 {p95:.0f} ms")
            log(
                f"   {people} people: {result['n']} requests, {result['rate']:.1f} req/s, "
                f"p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, "
                f"{result['errors']} errors, load generator {result['client_cpu']:.0%} of a core; "
                + ", ".join(f"{k} {n} p95 {p:.0f} ms" for k, (n, p) in result["by_kind"].items())
            )
            if result["p95"] > TARGET_MS or result["errors"] > MAX_ERROR_RATE * result["n"]:
                break
    finally:
        await load.stop()
    return steps


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def run(opts) -> list[Row]:
    if opts.skip_http:
        return []
    if shutil.which("wrk") is None:
        return [Row("capacity: wrk is not installed (apt-get install wrk)", "", "", False)]
    from django.db import connection, connections

    from . import generate
    from .http_load import _wrk

    size = max(opts.sizes, key=lambda s: generate.SIZES[s])
    name = f"{opts.database}_{size}"
    use_database(name)
    made = generate.ensure(size, regenerate=opts.regenerate)[1]
    plan = _plan(random.Random(8))
    if not plan.officers or not plan.citizens:
        return [
            Row(f"capacity {size}: no offered tasks or citizens in the data set", "", "", False)
        ]
    settings_dict = connection.settings_dict
    connections.close_all()

    port = int(os.environ.get("BENCH_HTTP_PORT") or _free_port())
    base = f"http://127.0.0.1:{port}"
    cache_url = os.environ.get("CACHE_URL", "")
    broker = os.environ.get("BENCH_BROKER_URL") or (
        cache_url if cache_url.startswith("redis") else ""
    )
    private = tempfile.mkdtemp(prefix="motcua-bench-private-")
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{name}"
        ),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BEHIND_TLS_PROXY": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "PRIVATE_MEDIA_ROOT": private,
    }
    if broker:
        env["CELERY_BROKER_URL"] = broker
    server = subprocess.Popen(  # noqa: S603 - our own arguments
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "-w",
            str(WORKERS),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    quick = getattr(opts, "quick", False)
    warm, window = (4.0, 8.0) if quick else (8.0, 20.0)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        _wait(f"{base}/lookup/")
        trivial_script = 'request = function() return wrk.format("GET", "/lookup/") end\n'
        _wrk(base, trivial_script, 3)  # warm-up, not counted
        trivial = _wrk(base, trivial_script, 5 if quick else 10)
        log(f"   baseline GET /lookup/: {trivial['rate']:.0f} req/s, p50 {trivial['p50']:.1f} ms")
        steps = asyncio.run(_ramp(base, plan, warm, window, log))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(private, ignore_errors=True)
        if broker:  # the tasks the run queued: nobody is meant to deliver them
            subprocess.run(  # noqa: S603
                [str(Path(sys.executable).parent / "celery"), "-A", "config", "purge", "-f"],
                cwd=ROOT,
                env={**env, "DJANGO_SETTINGS_MODULE": "bench.settings"},
                capture_output=True,
                check=False,
            )
    use_database(opts.database)

    def within(step) -> bool:
        return step["p95"] <= TARGET_MS and step["errors"] <= MAX_ERROR_RATE * step["n"]

    served = [s for s in steps if within(s)]
    best = served[-1] if served else None
    beyond = steps[-1] if steps and not within(steps[-1]) else None
    label = f"capacity {size}"
    rows = list(made)
    rows.append(
        Row(
            f"{label}: baseline GET /lookup/ (wrk, 8 connections, no think time), req/s; p50 ms",
            f"{trivial['rate']:.0f}; {trivial['p50']:.1f}",
        )
    )
    rows.append(
        Row(
            f"{label}: concurrent people (40 % officers, 60 % citizens, think time) served "
            f"with p95 ≤ {TARGET_MS:.0f} ms, one node, {WORKERS} workers",
            str(best["people"]) if best else "fewer than " + str(STEPS[0]),
            "",
            None,
        )
    )
    if best:
        kinds = ", ".join(f"{k} {n} at p95 {p:.0f}" for k, (n, p) in best["by_kind"].items())
        rows.append(
            Row(
                f"{label}: at {best['people']} people: req/s; p50 / p95 ms; errors; requests",
                f"{best['rate']:.1f}; {best['p50']:.0f} / {best['p95']:.0f}; "
                f"{best['errors']} of {best['n']} ({kinds})",
            )
        )
        rows.append(
            Row(
                f"{label}: mixed req/s at capacity ÷ baseline req/s",
                f"{best['rate'] / trivial['rate']:.2f}",
            )
        )
        rows.append(
            Row(
                f"{label}: load generator's CPU at capacity (same machine)",
                f"{best['client_cpu']:.0%} of a core",
            )
        )
    if beyond:
        rows.append(
            Row(
                f"{label}: the next step, {beyond['people']} people: req/s; p50 / p95 ms; errors",
                f"{beyond['rate']:.1f}; {beyond['p50']:.0f} / {beyond['p95']:.0f}; "
                f"{beyond['errors']} of {beyond['n']}",
            )
        )
    elif steps:
        rows.append(Row(f"{label}: the largest step ({STEPS[-1]}) was still within the target", ""))
    return rows
