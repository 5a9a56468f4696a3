"""Signing a staff member in as a complete two-factor login would, for the test suite and
the benchmarks (never used by the application itself)."""

from __future__ import annotations

from types import SimpleNamespace

from allauth.account.internal.flows.login import record_authentication

from . import services, totp

TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # noqa: S105 - tests only


def sign_in(client, user):
    """``client.force_login(user)``; for staff, also a real TOTP enrolment (allauth's
    models) and the record allauth keeps of the methods a login used: password, then the
    authenticator app."""
    client.force_login(user)
    if not services.is_staff_member(user):
        return client
    authenticator = totp.enrol(user, TEST_TOTP_SECRET)
    request = SimpleNamespace(session=client.session)
    record_authentication(request, user, "password", username=user.get_username())
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
    # What security.receivers does when a login that used the code finishes.
    request.session[services.SECOND_FACTOR] = user.pk
    request.session.save()
    return client


used_codes: set[tuple[str, str, int]] = set()


def unused_code(secret: str, account: str = "") -> str:
    """A code the authenticator app shows now (or one period either side, which
    MFA_TOTP_TOLERANCE accepts) that this process has not typed yet for ``account``:
    allauth refuses a code used twice by one account, and a browser test may log one
    officer in twice within 30 s (the demo accounts share one secret)."""
    import time as _time

    from django.conf import settings

    period = getattr(settings, "MFA_TOTP_PERIOD", 30)
    counter = int(_time.time()) // period
    for step in (0, 1, -1):
        if (account, secret, counter + step) not in used_codes:
            used_codes.add((account, secret, counter + step))
            return totp.code(secret, offset=step)
    raise RuntimeError("three logins of one account in one 30-second period")
