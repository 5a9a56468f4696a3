"""HTTP: gunicorn with 2 workers on loopback, loaded by wrk for 30 s, on the public lookup
(POST, with its CSRF token and the rate limit's cache work) and on an officer's dossier
page (logged in), over the largest generated data set.

The lookup is rate-limited per client address (10 a minute). As behind the production
proxy (``BEHIND_TLS_PROXY``), the client address is the last hop of X-Forwarded-For;
wrk's script gives every request its own random address, so the limiter runs (and costs
what it costs) without refusing the load generator.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .common import ROOT, Row, use_database

WORKERS = 2
CONNECTIONS = 8
WARM_UP = 3  # seconds

LOOKUP_LUA = """
local pairs_ = {%(pairs)s}
local token = "%(token)s"
local cookie = "csrftoken=" .. token
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
end
request = function()
  local p = pairs_[math.random(#pairs_)]
  local body = "csrfmiddlewaretoken=" .. token .. "&code=" .. p[1] .. "&secret=" .. p[2]
  local ip = math.random(1, 223) .. "." .. math.random(0, 255) .. "." ..
             math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("POST", "/lookup/", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = ip,
  }, body)
end
"""

PAGE_LUA = """
local ids = {%(ids)s}
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) %% 100000)
end
request = function()
  return wrk.format("GET", "/workspace/dossiers/" .. ids[math.random(#ids)] .. "/", {
    ["Cookie"] = "sessionid=%(session)s",
  })
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _csrf_token(base: str) -> str:
    with urllib.request.urlopen(f"{base}/lookup/", timeout=10) as response:  # noqa: S310
        cookies = response.headers.get_all("Set-Cookie") or []
    for cookie in cookies:
        match = re.match(r"csrftoken=([^;]+)", cookie)
        if match:
            return match.group(1)
    raise RuntimeError("no CSRF cookie from /lookup/")


def _wrk(base: str, script: str, seconds: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = subprocess.run(  # noqa: S603 - our own arguments
            [
                shutil.which("wrk"),
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                handle.name,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return {
        "rate": rate,
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": errors,
        "total": total,
        "raw": out,
    }


def run(opts) -> list[Row]:
    if opts.skip_http:
        return []
    if shutil.which("wrk") is None:
        return [Row("http: wrk is not installed (apt-get install wrk)", "", "", False)]
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.test import Client

    from workflows.models import Dossier

    size = max(opts.sizes, key=lambda s: {"10k": 1, "100k": 2, "1m": 3}[s])
    name = f"{opts.database}_{size}"
    use_database(name)
    pairs = list(
        Dossier.objects.exclude(code=None).order_by("?").values_list("code", "lookup_secret")[:1000]
    )
    head = get_user_model().objects.get(username="bench-h22-head")
    ids = list(
        Dossier.objects.filter(handling_agency__code="H22").values_list("pk", flat=True)[:2000]
    )
    client = Client()
    # As after a password-and-code login: staff pages refuse a session without one.
    from security.testing import sign_in

    sign_in(client, head)
    session = client.cookies["sessionid"].value
    settings_dict = connection.settings_dict
    connections.close_all()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{name}"
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BEHIND_TLS_PROXY": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
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
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    rows = []
    try:
        _wait(f"{base}/lookup/")
        token = _csrf_token(base)
        seconds = opts.http_seconds
        lookup_script = LOOKUP_LUA % {
            "pairs": ",".join(f'{{"{c}","{s}"}}' for c, s in pairs),
            "token": token,
        }
        page_script = PAGE_LUA % {"ids": ",".join(map(str, ids)), "session": session}
        # Each URL is loaded for WARM_UP seconds first, not counted: both workers then have
        # their templates compiled, their connections open and their caches filled.
        _wrk(base, lookup_script, WARM_UP)
        lookup = _wrk(base, lookup_script, seconds)
        _wrk(base, page_script, WARM_UP)
        page = _wrk(base, page_script, seconds)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    cache = "Redis" if env.get("CACHE_URL", "").startswith(("redis", "rediss")) else "database"
    for label, result, target in (
        (f"http {size}: public lookup", lookup, 300),
        (f"http {size}: dossier page (logged in)", page, None),
    ):
        rows.append(
            Row(
                f"{label}, req/s ({WORKERS} workers, {CONNECTIONS} connections, {seconds} s, "
                f"{cache} cache)",
                f"{result['rate']:.0f}",
                f"≥ {target} req/s" if target else "",
                result["rate"] >= target if target else None,
            )
        )
        rows.append(Row(f"{label}, p50 / p99 ms", f"{result['p50']:.1f} / {result['p99']:.1f}"))
        rows.append(
            Row(
                f"{label}, errors (non-2xx/3xx, socket)",
                f"{result['errors']} of {result['total']}",
                "0",
                result["errors"] == 0,
            )
        )
    use_database(opts.database)
    return rows
