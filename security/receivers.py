"""Signals of Django's auth and allauth's MFA, written to the security log."""

from __future__ import annotations

from allauth.account.signals import password_reset
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services
from .models import EventKind


@receiver(user_logged_in, dispatch_uid="security.logged_in")
def logged_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    services.session_started(request, user)
    services.record_event(EventKind.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="security.logged_out")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        services.record_event(EventKind.LOGOUT, user=user, request=request)


@receiver(password_reset, dispatch_uid="security.password_reset")
def password_was_reset(sender, request, user, **kwargs):
    services.record_event(EventKind.PASSWORD_RESET, user=user, request=request)


@receiver(mfa_signals.authenticator_added, dispatch_uid="security.mfa_added")
def authenticator_added(sender, request, user, authenticator, **kwargs):
    services.record_event(
        EventKind.MFA_ENROLLED, user=user, request=request, detail=authenticator.type
    )


@receiver(mfa_signals.authenticator_removed, dispatch_uid="security.mfa_removed")
def authenticator_removed(sender, request, user, authenticator, **kwargs):
    services.record_event(
        EventKind.MFA_REMOVED, user=user, request=request, detail=authenticator.type
    )
    if request is not None and hasattr(request, "session"):
        # Without an app, the next page sends them to enrol a new one.
        request.session.pop(services.SECOND_FACTOR, None)


@receiver(mfa_signals.authenticator_reset, dispatch_uid="security.mfa_reset")
def authenticator_reset(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        services.record_event(EventKind.RECOVERY_CODES_REGENERATED, user=user, request=request)


@receiver(mfa_signals.authenticator_used, dispatch_uid="security.mfa_used")
def authenticator_used(sender, request, user, authenticator, **kwargs):
    if authenticator.type == Authenticator.Type.RECOVERY_CODES:
        services.record_event(EventKind.RECOVERY_CODE_USED, user=user, request=request)


@receiver(mfa_signals.authentication_failed, dispatch_uid="security.mfa_failed")
def authentication_failed(sender, request, user, **kwargs):
    services.record_event(EventKind.MFA_FAILED, user=user, request=request)
