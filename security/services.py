"""Account security: who counts as staff, the security log, the per-account lockout,
and the staff session rules (second factor, idle and absolute limits).

Every event goes to the table (SecurityEvent, searchable in the admin) and to the
``motcua.security`` logger as one structured line (structlog): the event name, the user
id and the client address as fields (``event``, ``user_id``, ``address``), with the
request id; never a password, a code, an e-mail address or what was typed."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from config.network import client_address
from procedures.auth import held_roles

from .models import EventKind, SecurityEvent

logger = structlog.get_logger("motcua.security")

# Session keys of the staff session rules (seconds since the epoch, as a float).
AUTH_AT = "security.authenticated_at"
SEEN_AT = "security.seen_at"
# The account id whose second factor this session has shown (saves a query per request).
SECOND_FACTOR = "security.second_factor"


def conf(name: str):
    return settings.MOTCUA_SECURITY[name]


def is_staff_member(user) -> bool:
    """Officers (any role), supervisors and administrators: the accounts that must use a
    second factor and whose sessions are short."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff or user.is_superuser or held_roles(user))


def _ip(request) -> str | None:
    return client_address(request) if request is not None else None


def record_event(kind: str, *, user=None, request=None, detail: str = "") -> SecurityEvent:
    """Write one security event to the table and one line to the log."""
    user_id = user.pk if user is not None and user.pk is not None else None
    ip = _ip(request)
    path = ""
    if kind == EventKind.ACCESS_DENIED and request is not None:
        path = request.path[:200]
    event = SecurityEvent.objects.create(
        kind=kind, user_id=user_id, ip=ip, path=path, detail=detail[:100]
    )
    logger.info(str(kind), user_id=user_id, address=ip)
    return event


# --- Lockout -------------------------------------------------------------------------------


def account_for_login(login: str):
    """The account a typed login names, by username or by e-mail address (case
    insensitive), or None. Only one account can match: e-mail addresses are unique."""
    login = (login or "").strip()
    if not login or len(login) > 254:
        return None
    User = get_user_model()
    from allauth.account.models import EmailAddress

    if "@" in login:
        address = EmailAddress.objects.filter(email__iexact=login).select_related("user").first()
        if address is not None:
            return address.user
        return User.objects.filter(email__iexact=login).first()
    return User.objects.filter(username__iexact=login).first()


def _lock_period() -> timedelta:
    return timedelta(seconds=conf("LOCKOUT_SECONDS"))


def locked_until(user):
    """When the account's current lock ends, or None when it is not locked. Resetting
    the password by e-mail (which proves the mailbox) ends a lock."""
    last = (
        SecurityEvent.objects.filter(
            user=user, kind__in=[EventKind.LOCKED, EventKind.PASSWORD_RESET]
        )
        .order_by("-at", "-pk")
        .values_list("at", "kind")
        .first()
    )
    if last is None or last[1] == EventKind.PASSWORD_RESET:
        return None
    last = last[0]
    until = last + _lock_period()
    return until if until > timezone.now() else None


def _counted_failures(user) -> int:
    """Failures inside the window, since the last successful login and the last lock."""
    now = timezone.now()
    since = now - timedelta(seconds=conf("LOCKOUT_WINDOW_SECONDS"))
    latest_reset = (
        SecurityEvent.objects.filter(
            user=user,
            kind__in=[EventKind.LOGIN, EventKind.LOCKED, EventKind.PASSWORD_RESET],
        )
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if latest_reset is not None and latest_reset > since:
        since = latest_reset
    return SecurityEvent.objects.filter(
        user=user, kind=EventKind.LOGIN_FAILED, at__gt=since
    ).count()


def login_failed(*, request, user) -> bool:
    """Record a failed login against ``user`` (None: no such account). Locks the account
    once it reaches the limit; returns whether it is now locked."""
    record_event(EventKind.LOGIN_FAILED, user=user, request=request)
    if user is None:
        return False
    with transaction.atomic():
        if locked_until(user) is not None:
            return True
        if _counted_failures(user) < conf("LOCKOUT_FAILURES"):
            return False
        record_event(EventKind.LOCKED, user=user, request=request)
        transaction.on_commit(lambda: _send_lockout_mail_safely(user))
    return True


def _send_lockout_mail_safely(user) -> None:
    # The login page must answer even when the mail server does not.
    try:
        send_lockout_mail(user)
    except Exception:  # noqa: BLE001 - any mail failure; the lock itself stands
        logger.warning("locked_mail_failed", user_id=user.pk)


def send_lockout_mail(user) -> None:
    """Tell the owner their account was locked: Vietnamese first, then English. No link,
    no code: only what happened and what to do."""
    if not user.email:
        return
    minutes = conf("LOCKOUT_SECONDS") // 60
    context = {"user": user, "minutes": minutes, "site_url": settings.MOTCUA["SITE_URL"]}
    subjects, bodies = [], []
    for language in ("vi", "en"):
        with translation.override(language):
            subjects.append(render_to_string("security/email/locked_subject.txt", context).strip())
            bodies.append(render_to_string("security/email/locked_body.txt", context).strip())
    message = EmailMultiAlternatives(
        subject=f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subjects[0]} / {subjects[1]}",
        body="\n\n----------\n\n".join(bodies) + "\n",
        to=[user.email],
    )
    message.send()


# --- Staff sessions ------------------------------------------------------------------------


def second_factor_state(request) -> str:
    """ "missing": the account has no authenticator app yet (a security key alone is not
    enough: the app is the factor every staff member has); "passed": this session's login
    used a second factor, the app's code or a security key (allauth's record of the
    methods used in the session), or the app was enrolled in this session (enrolling means
    typing a code the app made); "required" otherwise."""
    from allauth.account.internal.flows.login import get_authentication_records
    from allauth.mfa.models import Authenticator

    if request.session.get(SECOND_FACTOR) == request.user.pk:
        return "passed"
    created = list(
        Authenticator.objects.filter(
            user_id=request.user.pk, type=Authenticator.Type.TOTP
        ).values_list("created_at", flat=True)
    )
    if not created:
        return "missing"
    records = get_authentication_records(request, request.user)
    started = request.session.get(AUTH_AT)
    # Adding a security key in this session does not count: it proves nothing the
    # session had not already shown.
    if any(record.get("method") == "mfa" for record in records) or (
        isinstance(started, float | int) and any(c.timestamp() > started for c in created)
    ):
        request.session[SECOND_FACTOR] = request.user.pk
        return "passed"
    return "required"


def password_just_typed(request) -> bool:
    """This session's login typed the password within the reauthentication timeout."""
    import time

    from allauth.account import app_settings as account_settings
    from allauth.account.internal.flows.login import get_authentication_records

    records = get_authentication_records(request, request.user)
    typed = [r["at"] for r in records if r.get("method") == "password" and "at" in r]
    return bool(typed) and time.time() - typed[-1] < account_settings.REAUTHENTICATION_TIMEOUT


def session_started(request, user) -> None:
    """A login finished: start the staff clocks, end the session with the browser."""
    now = timezone.now().timestamp()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session.pop(SECOND_FACTOR, None)
    from allauth.account.internal.flows.login import get_authentication_records

    # allauth records the code before it logs the user in: remember it now, so the first
    # page after the login costs what every other page does.
    if any(r.get("method") == "mfa" for r in get_authentication_records(request, user)):
        request.session[SECOND_FACTOR] = user.pk
    if is_staff_member(user):
        request.session.set_expiry(0)


def staff_session_expired(request) -> bool:
    """Idle or absolute limit passed for a staff session; otherwise mark it seen."""
    session = request.session
    now = timezone.now().timestamp()
    started = session.get(AUTH_AT)
    seen = session.get(SEEN_AT)
    if not isinstance(started, float | int) or not isinstance(seen, float | int):
        # A session from before these rules: its clocks start now.
        session[AUTH_AT] = session[SEEN_AT] = now
        started = seen = now
    if now - seen > conf("STAFF_IDLE_SECONDS") or now - started > conf("STAFF_MAX_SECONDS"):
        return True
    if now - seen >= 60:  # no session write on every request of a busy officer
        session[SEEN_AT] = now
    if not session.get_expire_at_browser_close():
        session.set_expiry(0)
    return False
