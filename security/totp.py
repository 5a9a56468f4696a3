"""TOTP helpers over allauth's: enrol an account with a known secret (the demo accounts,
the test suite's and the benchmarks' staff logins), and compute a current code."""

from __future__ import annotations

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings

# The demo accounts' shared secret (base32). Published in the README on purpose: it is
# given only by seed_demo, which runs only with DEBUG.
DEMO_TOTP_SECRET = "MOTCUADEMOTOTPSECRETFORNEWCOMERS"  # noqa: S105 - demo only


def enrol(user, secret: str) -> Authenticator:
    """Give ``user`` an authenticator app with ``secret`` and recovery codes (kept as they
    are when the user already has an app)."""
    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is None:
        existing = TOTP.activate(user, secret).instance
    if not Authenticator.objects.filter(
        user=user, type=Authenticator.Type.RECOVERY_CODES
    ).exists():
        RecoveryCodes.activate(user)
    return existing


def secret_of(user) -> str | None:
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    return decrypt(authenticator.data["secret"]) if authenticator else None


def code(secret: str, at: float | None = None, offset: int = 0) -> str:
    """The code an authenticator app shows at ``at`` (now), ``offset`` periods later."""
    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    counter = int(at if at is not None else time.time()) // period + offset
    return format_hotp_value(hotp_value(secret, counter))
