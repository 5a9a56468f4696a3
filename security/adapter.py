"""allauth adapters: failed logins counted per account, the lockout, and the TOTP QR code
drawn with segno (already a dependency for the papers' QR codes) instead of qrcode."""

from __future__ import annotations

import io
from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services


@dataclass(frozen=True)
class Site:
    """What allauth's mails call the site: its name and its address (settings.MOTCUA)."""

    name: str
    domain: str


def current_site() -> Site:
    url = settings.MOTCUA["SITE_URL"]
    return Site(name=settings.MOTCUA["SITE_NAME"], domain=urlsplit(url).netloc or url)


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "account_locked": _(
            "This account is locked for a while after too many failed logins. Its owner "
            "has been told by e-mail. Try again later, or reset the password."
        ),
    }

    def _login_from(self, credentials) -> str:
        return credentials.get("email") or credentials.get("username") or ""

    def _account(self, credentials):
        # One lookup per login attempt, shared by the rate limit key and the lockout.
        login = self._login_from(credentials)
        cached = getattr(self, "_motcua_account", None)
        if cached is not None and cached[0] == login:
            return cached[1]
        user = services.account_for_login(login)
        self._motcua_account = (login, user)
        return user

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth keys its failed-login limit on what was typed, so a username and an
        # e-mail address were two separate budgets for one account: key on the account.
        user = self._account(credentials)
        if user is not None:
            return f"account:{user.pk}"
        return super()._get_login_attempts_cache_key(request, **credentials)[:200]

    def pre_authenticate(self, request, **credentials) -> None:
        user = self._account(credentials)
        if user is not None and services.locked_until(user) is not None:
            services.record_event(
                services.EventKind.LOGIN_REFUSED_LOCKED, user=user, request=request
            )
            raise self.validation_error("account_locked")
        super().pre_authenticate(request, **credentials)

    def authentication_failed(self, request, **credentials) -> None:
        user = self._account(credentials)
        if services.login_failed(request=request, user=user):
            raise ValidationError(self.error_messages["account_locked"], code="account_locked")

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Without django.contrib.sites, allauth's "site" is the request's host: mails
        # greeted "Hello from 127.0.0.1:8102!". They name the site and its address instead.
        context = {"current_site": current_site(), **context}
        super().send_mail(template_prefix, email, context)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # A password typed at this session's login a moment ago (within allauth's
        # reauthentication timeout) proves what a reauthentication would: a staff member
        # sent to enrol right after logging in is not asked for it twice.
        request = self.request
        if (
            request is not None
            and request.user.is_authenticated
            and services.password_just_typed(request)
        ):
            return False
        return super().is_reauthentication_required(app=app, **kwargs)


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        return "motcua"

    def build_totp_svg(self, url: str) -> str:
        import segno

        buffer = io.BytesIO()
        segno.make(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False, svgns=True)
        return buffer.getvalue().decode("utf-8")
