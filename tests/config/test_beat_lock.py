"""Two beats never double a periodic job: the claim per job and period (config.beat), in
the cache shared by every process; then two real beat processes on RabbitMQ."""

from __future__ import annotations

import math
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from celery.beat import ScheduleEntry
from celery.schedules import crontab, schedule

from config.beat import claim, period_of

from .nodes import amqp_url, celery, environment, purge, start, stop, wait_for


def entry(every) -> ScheduleEntry:
    return ScheduleEntry(name="sweep", task="notifications.tasks.sweep_messages", schedule=every)


def test_the_period_counts_intervals_from_the_epoch():
    assert period_of(entry(schedule(timedelta(seconds=60))), now=119.9) == 1
    assert period_of(entry(schedule(timedelta(seconds=60))), now=120.0) == 2
    assert period_of(entry(schedule(timedelta(hours=1))), now=7200.5) == 2
    assert period_of(entry(crontab(minute="*/5")), now=600.0) == 10  # a crontab: its minute


@pytest.mark.django_db
def test_one_claim_per_job_and_period():
    job, other = f"sweep-{uuid.uuid4()}", f"seal-{uuid.uuid4()}"  # a shared cache outlives tests
    assert claim(job, 1000, ttl=120) is True
    assert claim(job, 1000, ttl=120) is False  # a second beat, same period
    assert claim(job, 1001, ttl=120) is True  # the next period
    assert claim(other, 1000, ttl=120) is True  # another job


INTERVAL = 2  # seconds, every job
JOBS = [
    "workflows.tasks.dispatch_pending_events",
    "notifications.tasks.sweep_messages",
    "workflows.tasks.escalate_tasks",
    "workflows.tasks.fire_flow_timers",
    "documents.tasks.sweep_documents",
    "workflows.tasks.seal_history",
]


def sent_tasks(url: str) -> list[str]:
    """The task names of every message waiting in the default queue (taken off it)."""
    from kombu import Connection

    names = []
    with Connection(url) as conn:
        queue = conn.SimpleQueue("celery")
        while True:
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                break
            names.append(message.headers["task"])
            message.ack()
        queue.close()
    return names


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_two_beats_send_each_job_once_per_period(tmp_path):
    """Two beat processes with every job due every 2 s, for about 9 s, and no worker:
    the queue then holds each job at most once per period that passed. Without the claim
    each job would be there about twice as often."""
    url = amqp_url()
    purge(url)
    env = environment(
        url,
        tmp_path,
        MOTCUA_EVENT_SWEEP_SECONDS=str(INTERVAL),
        MOTCUA_MESSAGE_SWEEP_SECONDS=str(INTERVAL),
        MOTCUA_ESCALATION_SECONDS=str(INTERVAL),
        MOTCUA_TIMER_SECONDS=str(INTERVAL),
        MOTCUA_DOCUMENT_SWEEP_SECONDS=str(INTERVAL),
        MOTCUA_HISTORY_SEAL_SECONDS=str(INTERVAL),
    )
    logs = [tmp_path / f"beat{i}.log" for i in (1, 2)]
    first_period = math.floor(time.time() / INTERVAL)
    beats = []
    try:
        for i, log in enumerate(logs, 1):
            beats.append(
                start(celery("beat", "-l", "info", "-s", str(tmp_path / f"schedule{i}")), env, log)
            )
        started = wait_for(
            lambda: all("beat: Starting" in log.read_text(errors="replace") for log in logs), 60
        )
        assert started, [log.read_text(errors="replace")[-2000:] for log in logs]
        time.sleep(9)
    finally:
        stop(beats)
    last_period = math.floor(time.time() / INTERVAL)
    periods = last_period - first_period + 1
    counts = Counter(sent_tasks(url))
    assert set(counts) == set(JOBS), counts
    for job in JOBS:
        assert 3 <= counts[job] <= periods, (job, counts[job], periods)
    # Both beats ran and met each other's claims.
    text = "".join(log.read_text(errors="replace") for log in logs)
    assert "was sent by another beat; skipped" in text, text[-3000:]


@pytest.mark.django_db(transaction=True)
def test_a_claim_outlives_a_dropped_database_connection(settings):
    """With the database cache, a connection the server dropped (a restart, a failover) is
    replaced: beat runs no request cycle that would do it."""
    import psycopg
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "motcua_cache",
        }
    }
    job = f"dropped-{uuid.uuid4().hex}"
    assert claim(job, 1, 60) is True
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert claim(job, 2, 60) is True
    assert claim(job, 2, 60) is False
