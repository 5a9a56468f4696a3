"""Celery beat's scheduler for motcua: each periodic job is sent at most once per period,
however many beat processes run (a second deployment of beat by mistake, an old one still
alive after a failover).

Before sending a due job, a beat claims the key ``(job, period)`` in the shared cache with
``cache.add``, which is atomic on every shared backend (Redis: ``SET NX``; the database
cache: an insert on the key's primary key). Only the beat that made the claim sends the
job; the others skip it. The period is the job's interval counted from the Unix epoch
(``floor(now / interval)``), so beats started at different moments agree on it as long as
their clocks do (NTP). A crontab job's period is its minute.

Why not a library: RedBeat (celery-redbeat) holds a lock so that one beat runs, but keeps
its schedule and lock in Redis, a second store for deployments that run RabbitMQ and the
database cache; django-celery-beat keeps the schedule in the database but takes no lock,
and two of its beats send every job twice.
"""

from __future__ import annotations

import math
import os
import socket
import time

from celery.beat import PersistentScheduler
from celery.schedules import schedule as interval_schedule
from celery.utils.log import get_logger

log = get_logger(__name__)

KEY_PREFIX = "motcua:beat"


def period_of(entry, now: float | None = None) -> int:
    """The number of the period the job is due in: its interval (in seconds) counted from
    the epoch; a minute for any other kind of schedule (crontab's resolution)."""
    now = time.time() if now is None else now
    seconds = 60.0
    schedule = entry.schedule
    if isinstance(schedule, interval_schedule) and type(schedule) is interval_schedule:
        seconds = max(schedule.run_every.total_seconds(), 1.0)
    return math.floor(now / seconds)


def claim(job: str, period: int, ttl: float) -> bool:
    """True for the one caller that claims ``job`` in ``period``; False for every other."""
    from django.core.cache import cache
    from django.db import DatabaseError, connections

    owner = f"{socket.gethostname()}:{os.getpid()}"
    key = f"{KEY_PREFIX}:{job}:{period}"
    try:
        return cache.add(key, owner, timeout=max(int(ttl), 60))
    except DatabaseError:
        # Beat runs no request cycle, so nothing else would ever replace a database
        # connection that broke (a restart, a failover): with the database cache, every
        # later claim would fail. Once more on a fresh connection.
        connections.close_all()
        return cache.add(key, owner, timeout=max(int(ttl), 60))


class LockedScheduler(PersistentScheduler):
    """celery's default scheduler (its schedule file, its timing), with the claim above
    before each send. ``celery -A config beat`` uses it (settings.CELERY_BEAT_SCHEDULER)."""

    def setup_schedule(self):
        # No django.setup() here: its logging configuration would silence beat's log.
        # The cache needs the settings only.
        from django.conf import settings

        backend = settings.CACHES["default"]["BACKEND"]
        shared = (*settings.SHARED_CACHE_BACKENDS, "django.core.cache.backends.db.DatabaseCache")
        if backend not in shared:
            log.warning(
                "beat: the cache (%s) is not shared between processes; "
                "a second beat would send every job again",
                backend,
            )
        super().setup_schedule()

    def apply_entry(self, entry, producer=None):
        period = period_of(entry)
        interval = getattr(entry.schedule, "run_every", None)
        ttl = 2 * interval.total_seconds() if interval is not None else 120
        try:
            claimed = claim(entry.name, period, ttl)
        except Exception:
            # Without the shared cache no beat can know whether another sent the job:
            # skip it (the job is a sweep; the next period runs it).
            log.exception("beat: cannot claim %s for period %s; skipped", entry.name, period)
            return
        if not claimed:
            log.info("beat: %s, period %s, was sent by another beat; skipped", entry.name, period)
            return
        log.info("beat: %s, period %s, claimed", entry.name, period)
        super().apply_entry(entry, producer=producer)
