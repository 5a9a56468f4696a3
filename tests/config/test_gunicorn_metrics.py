"""gunicorn with config/gunicorn.py and two workers, as production runs it: /metrics adds up
the counters of both workers (prometheus_client's multiprocess directory), the probes
answer a pod's address as Host, and each access line is JSON with the request id. Needs
PostgreSQL (the server process reads the test database; CI's PostgreSQL pass)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
COUNTER = "django_http_requests_before_middlewares"


@pytest.fixture(autouse=True)
def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def server(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
        "MOTCUA_VAR_DIR": str(tmp_path / "var"),
        "MOTCUA_LOG_FORMAT": "json",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "counter_1.db").write_bytes(b"stale")  # an earlier run's
    env.pop("DEBUG", None)
    log = tmp_path / "web.log"
    process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/health/live", timeout=10).status_code == 200:
                break
        except requests.RequestException:  # not listening yet, or its workers still loading
            time.sleep(0.3)
    yield base, log, tmp_path / "prometheus"
    process.terminate()
    process.wait(timeout=30)


def requests_seen(base: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == COUNTER:
            return sum(sample.value for sample in family.samples)
    raise AssertionError(f"{COUNTER} missing from /metrics")


def test_two_workers_one_scrape(server):
    base, log, directory = server
    before = requests_seen(base)
    for i in range(40):
        response = requests.get(
            base + "/health/ready",
            headers={"Host": "10.42.0.17:8000", "X-Request-ID": f"gunicorn-test-{i:04d}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
    # 40 probes and the scrape itself, whichever worker served which.
    assert requests_seen(base) == before + 41
    pids = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("counter_*.db")}
    assert "1" not in pids, "the stale file of an earlier run was removed at start"
    assert len(pids) == 2, pids

    time.sleep(1)
    access = [
        json.loads(line)
        for line in log.read_text().splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    ids = {line.get("request_id") for line in access}
    assert {f"gunicorn-test-{i:04d}" for i in range(40)} <= ids
    assert all(line["event"].endswith(line["request_id"]) for line in access)
