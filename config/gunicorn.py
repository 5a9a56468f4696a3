"""gunicorn settings for motcua's web nodes: ``gunicorn -c config/gunicorn.py config.wsgi``.

Its access and error logs pass through the same redaction as Django's own
(config.logging.Redact): an access line holds the path and the query string, and a
password-reset key or a verification code is part of a path. Anything set here can be
overridden on the command line (``-w``, ``-b``, ...).

Health, metrics and logs: the lines are structlog's (config.logging.formatter), JSON unless
DEBUG or MOTCUA_LOG_FORMAT says otherwise, and an access line carries the request's id
(config.requestid: the ``request_id`` field, and the response's X-Request-ID at its end).
Each worker keeps its own Prometheus counters; prometheus_client adds them up from the
files its workers write in PROMETHEUS_MULTIPROC_DIR (a fresh temporary directory unless
set; emptied at start when set), and a worker that exits is marked dead there.
"""

import glob
import os
import tempfile

from config.logging import formatter, log_format

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# A page that takes longer is a bug to find, not a wait to impose on a slow connection.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = "-"
errorlog = "-"
# gunicorn's default line, then the duration in seconds and the request id.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s %({x-request-id}o)s'
)
_debug = os.environ.get("DEBUG", "").strip().lower() in ("1", "true", "yes", "on", "y")
_format = log_format(_debug)

# --- Prometheus across workers ---------------------------------------------------------------
# (gunicorn may read this file twice: the second reading finds the directory made.)
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="motcua-prometheus-")
    os.environ["MOTCUA_PROMETHEUS_OWN_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server):
    """Counters of an earlier run must not be added to this one's."""
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_request(worker, req, environ, resp):
    """After the access line: the request's id must not label the worker's next lines."""
    from structlog.contextvars import clear_contextvars

    clear_contextvars()


def on_exit(server):
    own = os.environ.get("MOTCUA_PROMETHEUS_OWN_DIR")
    if own and own == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import shutil

        shutil.rmtree(own, ignore_errors=True)


logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.Redact"}},
    "formatters": {"generic": formatter(_format), "access": formatter(_format)},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": ["redact"],
            "stream": "ext://sys.stderr",
        },
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": ["redact"],
            "stream": "ext://sys.stdout",
        },
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}
