"""The national sign-in, on the citizens' side: the allauth social-account adapter (settings
SOCIALACCOUNT_ADAPTER), with the few signal receivers allauth offers no hook for. The
protocol (provider, claims, login and callback views, sandbox) is connectors.identity's;
what a sign-in does to accounts and profiles is decided here, with the profile's services.

What it decides:

- the one "app" (the national single sign-on) comes from settings, never the database, and
  exists only when configured (``claims.configured()``): otherwise no button, 404 routes;
- staff accounts (officers, supervisors, administrators) never sign in or link through it:
  they keep their password and second factor (security app);
- a new citizen gets an account and a profile at once, without a sign-up form: the national
  identity is the proof, the e-mail address is optional (VNeID's is declared, not checked:
  it is kept unverified and confirmed by mail; one already used by another account is left
  out, and the citizen told);
- what the national identity vouches for (ID number, name, date of birth) is written to the
  profile and marked verified (portal.services.profile_verify_identity): at sign-up, at each
  later sign-in and when an existing account links it; a verified ID number belongs to one
  account only;
- a failure (server down or slow, a token that fails its checks) is a page in plain words,
  logged without personal data, and nothing is changed.
"""

from __future__ import annotations

import logging

from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount import signals
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from connectors.identity import claims
from connectors.identity.views import failure_page
from security.services import is_staff_member

from . import services as portal_services

log = logging.getLogger("motcua.connectors.identity")

SOURCE = "vneid"

FIELD_LABELS = {
    "id_number": gettext_lazy("personal ID number"),
    "full_name": gettext_lazy("full name"),
    "date_of_birth": gettext_lazy("date of birth"),
}


def _refuse(request, message: str, status: int = 403):
    raise ImmediateHttpResponse(failure_page(request, message=message, status=status))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    error_messages = {
        **DefaultSocialAccountAdapter.error_messages,
        "connected_other": gettext_lazy(
            "This national identity is already linked to another account. One national "
            "identity can be linked to one account only."
        ),
    }

    # --- the app, from settings only ---
    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        backend = claims.configured()
        if backend is None or provider not in (None, "openid_connect", claims.PROVIDER_ID):
            return []
        if client_id and client_id != backend.client_id:
            return []
        return [
            SocialApp(
                provider="openid_connect",
                provider_id=claims.PROVIDER_ID,
                name=backend.name,
                client_id=backend.client_id,
                secret=backend.client_secret,
                settings={
                    "server_url": backend.server_url,
                    "oauth_pkce_enabled": True,
                    "token_auth_method": "client_secret_post",
                    "fetch_userinfo": True,
                },
            )
        ]

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        if error == "cancelled":
            return  # allauth's "sign-in cancelled" page
        log.warning(
            "identity: sign-in failed",
            extra={"error": str(error or ""), "exception": type(exception).__name__},
        )
        raise ImmediateHttpResponse(failure_page(request, exception))

    # --- before anything is written ---
    def pre_social_login(self, request, sociallogin: SocialLogin) -> None:
        backend = claims.configured()
        if backend is None:
            _refuse(request, _("Signing in with a national identity is not available."), 404)
        try:
            person = backend.person(sociallogin.account.extra_data)
        except ValueError:
            log.warning("identity: no usable ID number in the claims")
            _refuse(
                request,
                _(
                    "The national identity service did not send a personal ID number, so "
                    "you were not signed in."
                ),
                400,
            )
        if backend.min_level and (person.level or 0) < backend.min_level:
            _refuse(
                request,
                _(
                    "Your national identity account must be level %(level)s to sign in here. "
                    "Upgrade it in the VNeID app, then try again."
                )
                % {"level": backend.min_level},
            )
        connecting = sociallogin.state.get("process") == AuthProcess.CONNECT
        user = request.user if connecting else sociallogin.user
        if user is not None and user.pk is not None and is_staff_member(user):
            log.warning("identity: staff account refused", extra={"user_id": user.pk})
            _refuse(
                request,
                _(
                    "Staff accounts cannot use the national identity. Sign in with your "
                    "username, password and authenticator code."
                ),
            )
        if connecting:
            if sociallogin.is_existing and sociallogin.user != request.user:
                return  # allauth refuses: "connected_other"
            if portal_services.verified_elsewhere(id_number=person.id_number, user=request.user):
                messages.error(request, str(self.error_messages["connected_other"]))
                raise ImmediateHttpResponse(redirect("portal:profile"))
        elif not sociallogin.is_existing:
            if portal_services.verified_elsewhere(id_number=person.id_number):
                _refuse(
                    request,
                    _(
                        "This personal ID number is already verified on another account. "
                        "Sign in to that account with its e-mail address and password."
                    ),
                )
            email = sociallogin.user.email if sociallogin.user else ""
            if email and EmailAddress.objects.filter(email__iexact=email).exists():
                # Never sign in to an account by its e-mail (VNeID does not check it), nor
                # make a second account claim it: the new account starts without one.
                sociallogin.user.email = ""
                sociallogin.email_addresses = []
                messages.warning(
                    request,
                    _(
                        "The e-mail address from your national identity is used by another "
                        "account, so it was not added. If that account is yours, sign in to "
                        "it with its password and link your national identity on its "
                        "profile page."
                    ),
                )

    # --- a new citizen ---
    def is_auto_signup_allowed(self, request, sociallogin) -> bool:
        return True  # the national identity is the proof: no sign-up form

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        # Vietnamese names keep their order: the whole name in first_name, as the profile
        # page keeps it.
        user.first_name, user.last_name = (data.get("name") or "")[:150], ""
        return user

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        _verify(request, sociallogin, user)
        return user

    def get_connect_redirect_url(self, request, socialaccount) -> str:
        from django.urls import reverse

        return reverse("portal:profile")


def _verify(request, sociallogin: SocialLogin, user) -> None:
    backend = claims.configured()
    if backend is None or user is None or is_staff_member(user):
        return
    try:
        person = backend.person(sociallogin.account.extra_data)
    except ValueError:
        return  # no usable ID number: pre_social_login refuses the sign-in
    try:
        replaced = portal_services.profile_verify_identity(
            user=user, values=person.verified_values(), source=SOURCE, level=person.level
        )
    except portal_services.IdentityTaken:
        # Checked before (pre_social_login): only a race gets here.
        log.warning("identity: ID number verified on another account", extra={"user_id": user.pk})
        return
    if replaced and request is not None:
        messages.warning(
            request,
            _(
                "Your national identity gave a different %(fields)s from what you had typed. "
                "The verified value is now on your profile."
            )
            % {"fields": ", ".join(str(FIELD_LABELS.get(f, f)) for f in replaced)},
        )


# allauth has no adapter hook after an existing account links an identity, nor when a
# returning citizen signs in again: its signals are the one place to act then.
@receiver(signals.social_account_added, dispatch_uid="identity.linked")
def linked(sender, request, sociallogin, **kwargs):
    if sociallogin.account.provider == claims.PROVIDER_ID:
        _verify(request, sociallogin, sociallogin.user)


@receiver(signals.social_account_updated, dispatch_uid="identity.signed_in_again")
def signed_in_again(sender, request, sociallogin, **kwargs):
    if sociallogin.account.provider == claims.PROVIDER_ID:
        _verify(request, sociallogin, sociallogin.user)


@receiver(signals.social_account_removed, dispatch_uid="identity.unlinked")
def unlinked(sender, request, socialaccount, **kwargs):
    if socialaccount.provider == claims.PROVIDER_ID:
        user = get_user_model().objects.filter(pk=socialaccount.user_id).first()
        if user is not None:
            portal_services.profile_unverify(user=user)
