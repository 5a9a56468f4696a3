"""System checks for a deployment."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if settings.SECRET_KEY_FROM_ENVIRONMENT or settings.DEBUG:
        return []
    return [
        Error(
            "SECRET_KEY is not set in the environment.",
            hint="Every web and worker process of a deployment must share one secret key; "
            "set SECRET_KEY (the key generated into var/ is for the embedded default only).",
            id="motcua.E001",
        )
    ]


@register(Tags.security, deploy=True)
def signing_is_not_the_development_pki(app_configs, **kwargs):
    """make_dev_pki's CA and seal password are for the demo; a deployment trusting them
    would call anyone's self-made certificate valid."""
    if settings.DEBUG:
        return []
    from django.core.checks import Warning

    documents = settings.MOTCUA["DOCUMENTS"]
    found = []
    if documents["SEAL_PASSWORD"] == settings.DEV_SEAL_PASSWORD:
        found.append(
            Warning(
                "MOTCUA_SEAL_PASSWORD is the development default.",
                hint="Set the password of the agencies' seal files in the environment.",
                id="motcua.W002",
            )
        )
    dev_root = str(settings.VAR_DIR / "pki" / "ca.pem")
    if dev_root in [str(p) for p in documents["TRUST_ROOTS"]]:
        found.append(
            Warning(
                "MOTCUA_TRUST_ROOTS names the development CA made by make_dev_pki.",
                hint="Name the national root CA (and the licensed CAs under it) instead.",
                id="motcua.W003",
            )
        )
    return found


@register(Tags.caches, deploy=True)
def cache_is_shared_and_fast(app_configs, **kwargs):
    """The database cache works, but every rate-limited request (lookup, verification,
    login) then writes and commits a row; a per-process cache (locmem, dummy, files) gives
    each worker its own rate limits. A deployment should set CACHE_URL to Redis."""
    if settings.DEBUG:
        return []
    from django.core.checks import Warning

    backend = settings.CACHES["default"]["BACKEND"]
    if backend in settings.SHARED_CACHE_BACKENDS:
        return []
    return [
        Warning(
            "The cache is the database (CACHE_URL is not set)."
            if backend == "django.core.cache.backends.db.DatabaseCache"
            else f"The cache ({backend}) is not shared by the web processes.",
            hint="Set CACHE_URL to a Redis database shared by every web process, e.g. "
            "redis://127.0.0.1:6379/1: rate limits and sessions are then read from it instead "
            "of costing a database write and commit per request.",
            id="motcua.W004",
        )
    ]


@register(Tags.security, deploy=True)
def messages_leave_the_machine(app_configs, **kwargs):
    """The console e-mail backend prints whole messages, password-reset links included, and
    the console or file SMS backends keep phone numbers and texts on the web node: both
    are for development only."""
    if settings.DEBUG:
        return []
    from django.core.checks import Warning

    found = []
    if settings.EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend":
        found.append(
            Warning(
                "E-mail goes to the console (EMAIL_URL=consolemail://).",
                hint="Messages, password-reset links among them, would be printed into the "
                "logs. Set EMAIL_URL to the agency's SMTP relay, e.g. "
                "smtp+tls://user:pass@smtp.example.gov.vn:587.",
                id="motcua.W005",
            )
        )
    if settings.MOTCUA["SMS"]["backend"] in ("console", "file"):
        found.append(
            Warning(
                f"SMS go to the {settings.MOTCUA['SMS']['backend']} backend.",
                hint="Phone numbers and texts would stay on the machine instead of being "
                "sent. Set MOTCUA_SMS_BACKEND=http and MOTCUA_SMS_OPTIONS for the gateway.",
                id="motcua.W006",
            )
        )
    from notifications.alerts import recipients

    if not recipients():
        found.append(
            Warning(
                "Nobody receives the failure digest.",
                hint="Messages, events and papers that fail for good would go unnoticed. "
                "Set MOTCUA_ALERT_EMAILS to the administrators' addresses.",
                id="motcua.W007",
            )
        )
    return found


@register(Tags.database, deploy=True)
def app_role_owns_nothing(app_configs, databases=None, **kwargs):
    """On PostgreSQL, the role motcua runs as must not be able to switch the history's
    triggers off: not a superuser, owner of no table (README, "Database roles"). Run with
    ``check --deploy --database default``: it asks the database."""
    from django.core.checks import Warning
    from django.db import connections

    if not databases or "default" not in databases:
        return []
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.rolsuper, (SELECT count(*) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relowner = r.oid) "
            "FROM pg_roles r WHERE r.rolname = current_user"
        )
        superuser, owned = cursor.fetchone()
    if not superuser and not owned:
        return []
    what = "is a superuser" if superuser else f"owns {owned} table(s)"
    return [
        Warning(
            f"motcua's database role ({connection.settings_dict['USER']}) {what}: it can "
            "switch the history's append-only triggers off.",
            hint="Run motcua as a role that owns nothing: create one, set DATABASE_MIGRATE_URL "
            "to the owner, run migrate and grant_app_role ROLE, and point DATABASE_URL at it "
            "(README, Database roles).",
            id="motcua.W010",
        )
    ]


@register(Tags.security)
def site_url_is_a_site_address(app_configs, **kwargs):
    """Links in e-mails and the papers' QR codes start with MOTCUA_SITE_URL: a wrong one
    sends citizens elsewhere, so it must be an http(s) address with no path."""
    from config.siteurl import problem

    url = settings.MOTCUA["SITE_URL"]
    reason = problem(url)
    if reason is None:
        return []
    return [
        Error(
            f"MOTCUA_SITE_URL ({url!r}) is not the site's address: {reason}.",
            hint="Set MOTCUA_SITE_URL to the address citizens open, e.g. "
            "https://dichvucong.example.gov.vn",
            id="motcua.E011",
        )
    ]


@register(Tags.security, deploy=True)
def site_url_from_environment(app_configs, **kwargs):
    if settings.DEBUG or settings.SITE_URL_FROM_ENVIRONMENT:
        return []
    return [
        Error(
            "MOTCUA_SITE_URL is not set in the environment.",
            hint="Links in e-mails and SMS, and the QR codes on the papers, would point at "
            f"{settings.MOTCUA['SITE_URL']}. Set MOTCUA_SITE_URL to the address citizens "
            "open, e.g. https://dichvucong.example.gov.vn",
            id="motcua.E012",
        )
    ]
