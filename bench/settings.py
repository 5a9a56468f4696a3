"""Settings for the benchmarks: the project's own, plus the bench-only bare viewflow app.

Only ``bench/run.py`` (and the gunicorn it starts) use this module; the application never
installs ``bench.bareflow``.
"""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bareflow"]

# The benchmarks speak plain HTTP on loopback, as the test suite does.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Users made by the data generator and the lifecycle bench log in with a cheap hash.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# As in the test suite: plain static storage (no manifest, so no collectstatic needed);
# the benchmarks never request static files.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
