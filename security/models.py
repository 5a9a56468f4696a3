"""The security log: one row per login, failure, lockout, MFA change or refused access.

Rows name the account (when there is one), the client address and, for refused access,
the path; never a password, a code, an ID number or what was typed in the login field."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    LOGIN = "login", _("Logged in")
    LOGOUT = "logout", _("Logged out")
    LOGIN_FAILED = "login_failed", _("Failed login")
    LOCKED = "locked", _("Account locked")
    LOGIN_REFUSED_LOCKED = "login_refused_locked", _("Login refused: account locked")
    PASSWORD_RESET = "password_reset", _("Password reset by e-mail")
    MFA_FAILED = "mfa_failed", _("Wrong second-factor code")
    MFA_ENROLLED = "mfa_enrolled", _("Second factor enrolled")
    MFA_REMOVED = "mfa_removed", _("Second factor removed")
    RECOVERY_CODE_USED = "recovery_code_used", _("Recovery code used")
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated", _("Recovery codes regenerated")
    SESSION_EXPIRED = "session_expired", _("Staff session expired")
    ACCESS_DENIED = "access_denied", _("Access refused")


class SecurityEvent(models.Model):
    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    kind = models.CharField(_("event"), max_length=32, choices=EventKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="security_events",
        verbose_name=_("account"),
    )
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=200, blank=True)
    detail = models.CharField(_("detail"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "kind", "at"], name="security_user_kind_at")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.at:%Y-%m-%d %H:%M:%S}"
