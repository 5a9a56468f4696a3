"""The Celery app. Without CELERY_BROKER_URL, tasks run eagerly in-process."""

import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("motcua")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from . import requestid  # noqa: E402, F401 - carries the request id into the tasks


@setup_logging.connect
def _use_django_logging(loglevel=None, **kwargs):
    """Workers and beat log through settings.LOGGING (structured lines, redaction) instead
    of Celery's own handlers; ``-l`` still sets the level."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


@task_prerun.connect
@task_postrun.connect
def _database_connections(sender=None, **kwargs):
    """Around each task, as Django does around each web request: a connection is kept for
    CONN_MAX_AGE seconds, one that failed is checked, and one a task left inside a
    transaction is closed (Celery's own closing after every task is turned off:
    settings.CELERY_DB_REUSE_MAX)."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return  # in the caller's process and, often, its transaction
    from django.db import close_old_connections

    close_old_connections()
