"""Settings come from the environment; a production-like one passes check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "CACHE_URL",
            "DEBUG",
            "SECRET_KEY",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-and-random-enough-0123456789",
            "ALLOWED_HOSTS": "motcua.example.gov.vn",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
            "MOTCUA_VAR_DIR": str(tmp_path),
            "MOTCUA_SEAL_PASSWORD": "a-real-seal-password",
            "MOTCUA_TRUST_ROOTS": "/etc/motcua/national-root-ca.pem",
            "EMAIL_URL": "smtp+tls://motcua:secret@smtp.example.gov.vn:587",
            "MOTCUA_SMS_BACKEND": "http",
            "MOTCUA_SMS_OPTIONS": '{"url": "https://sms.example.gov.vn/send"}',
            "MOTCUA_ALERT_EMAILS": "motcua-admins@example.gov.vn",
            "MOTCUA_SITE_URL": "https://motcua.example.gov.vn",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_the_development_pki_and_the_database_cache(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        env={
            "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-and-random-enough-0123456789",
            "ALLOWED_HOSTS": "motcua.example.gov.vn",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MOTCUA_VAR_DIR": str(tmp_path),
        },
    )
    output = result.stdout + result.stderr
    assert "motcua.W002" in output
    assert "motcua.W003" in output
    assert "motcua.W004" in output
    assert "motcua.W006" in output  # SMS written to a file on the web node
    assert "motcua.W007" in output  # nobody receives the failure digest


def test_mail_kept_in_var_only_with_debug_and_console_warned_about_in_a_deployment(tmp_path):
    code = "from django.conf import settings as s; print(s.EMAIL_BACKEND)"
    base = {"MOTCUA_VAR_DIR": str(tmp_path)}
    debug = run_manage("shell", "-c", code, env={**base, "DEBUG": "1"})
    assert debug.stdout.split()[-1] == "django.core.mail.backends.filebased.EmailBackend"
    plain = run_manage("shell", "-c", code, env=base)
    assert plain.stdout.split()[-1] == "django.core.mail.backends.smtp.EmailBackend"

    deploy = {
        **base,
        "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-and-random-enough-0123456789",
        "ALLOWED_HOSTS": "motcua.example.gov.vn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    assert "motcua.W005" not in run_manage("check", "--deploy", env=deploy).stdout
    forced = run_manage("check", "--deploy", env={**deploy, "EMAIL_URL": "consolemail://"})
    assert "motcua.W005" in forced.stdout + forced.stderr


def test_embedded_default_is_sqlite_eager_console(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND)"
    )
    # make run's development server: DEBUG on, mail written to files in var/mail/.
    result = run_manage(
        "shell",
        "-c",
        code + ";print(s.EMAIL_FILE_PATH)",
        env={"MOTCUA_VAR_DIR": str(tmp_path), "DEBUG": "1"},
    )
    assert result.returncode == 0, result.stderr
    engine, eager, backend, mail_dir = result.stdout.split()[-4:]
    assert engine == "django.db.backends.sqlite3"
    assert eager == "True"
    assert backend == "django.core.mail.backends.filebased.EmailBackend"
    assert mail_dir == str(tmp_path / "mail")


def test_environment_selects_postgres_broker_and_cache(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER,"
        " s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)"
    )
    result = run_manage(
        "shell",
        "-c",
        code,
        env={
            "MOTCUA_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "CACHE_URL": "redis://127.0.0.1:6379/1",
        },
    )
    assert result.returncode == 0, result.stderr
    engine, eager, cache, sessions = result.stdout.split()[-4:]
    assert engine == "django.db.backends.postgresql" and eager == "False"
    assert cache == "django.core.cache.backends.redis.RedisCache"
    assert sessions == "django.contrib.sessions.backends.cached_db"


def test_check_deploy_demands_a_secret_key(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        env={
            "ALLOWED_HOSTS": "motcua.example.gov.vn",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MOTCUA_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "motcua.E001" in result.stderr + result.stdout


def test_every_beat_job_names_a_registered_task():
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_a_per_process_cache_keeps_database_sessions_and_is_warned_about(tmp_path):
    env = {
        "SECRET_KEY": "x" * 20 + "-production-secret-that-is-long-and-random-enough-0123456789",
        "ALLOWED_HOSTS": "motcua.example.gov.vn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MOTCUA_VAR_DIR": str(tmp_path),
        "CACHE_URL": "locmemcache://",
    }
    code = "from django.conf import settings as s; print(s.SESSION_ENGINE)"
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "django.contrib.sessions.backends.db"
    result = run_manage("check", "--deploy", env=env)
    output = result.stdout + result.stderr
    assert "motcua.W004" in output and "not shared" in output
