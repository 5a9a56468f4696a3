"""allauth's OpenID Connect provider, made strict for the national sign-in.

Chosen through ``SOCIALACCOUNT_PROVIDERS["openid_connect"]["provider_class"]`` (allauth's
own switch), so the provider keeps its id and its URLs (connectors/identity/urls.py), and
changes only what a national sign-in must not leave to chance:

- the id_token's signature is always checked against the server's published keys (allauth
  skips it when the token came straight from the token endpoint; here a forged or mis-signed
  token is refused whatever the channel), with joserfc, already a dependency;
- the discovery document's issuer must be the configured server, and the id_token's issuer,
  audience and expiry must match;
- every call out has the connector timeout and goes through ``connectors.http``, so a server
  that is down or slow fails as ``IdentityUnavailable`` and the page says so in plain words.
"""

from __future__ import annotations

import logging

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import get_request_param
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from connectors import http

from . import claims

log = logging.getLogger("motcua.connectors.identity")

SYSTEM = "identity"


class IdentityUnavailable(OAuth2Error):
    """The national sign-in did not answer (down, slow, unreadable): try again later."""

    def __init__(self, error: http.ConnectorError):
        self.error = error
        super().__init__(str(error))


class IdentityRefused(OAuth2Error):
    """What came back cannot be trusted (signature, issuer, audience, expiry, claims)."""


def _timeout() -> float:
    backend = claims.configured()
    return backend.timeout if backend is not None else 10.0


class NationalIdentityAdapter(OpenIDConnectOAuth2Adapter):
    @property
    def openid_config(self) -> dict:
        if not hasattr(self, "_openid_config"):
            provider = self.get_provider()
            try:
                config = http.call_json(SYSTEM, "GET", provider.server_url, timeout=_timeout())
            except http.ConnectorError as exc:
                raise IdentityUnavailable(exc) from exc
            if not isinstance(config, dict) or not all(
                isinstance(config.get(k), str)
                for k in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            ):
                raise IdentityUnavailable(http.ConnectorError(SYSTEM, http.MALFORMED, "discovery"))
            expected = provider.app.settings["server_url"].rstrip("/")
            if config["issuer"].rstrip("/") != expected:
                # OpenID Connect Discovery 4.3: the issuer must be the URL it was fetched from.
                log.warning("identity: discovery issuer is not the configured server")
                raise IdentityRefused("discovery issuer mismatch")
            self._openid_config = config
        return self._openid_config

    @property
    def profile_url(self):
        url = self.openid_config.get("userinfo_endpoint")
        if not url:
            raise IdentityUnavailable(http.ConnectorError(SYSTEM, http.MALFORMED, "discovery"))
        return url

    def complete_login(self, request, app, token, **kwargs):
        """allauth's, with OpenID Connect Core 5.3.2's rule: the userinfo's ``sub`` must be
        the id_token's, or the answers are about two people."""
        id_token = kwargs["response"].get("id_token")
        data = {"userinfo": self._fetch_user_info(token.token)}
        if id_token:
            data["id_token"] = self._decode_id_token(app, id_token)
            if str(data["userinfo"].get("sub")) != str(data["id_token"].get("sub")):
                log.warning("identity: userinfo and id_token name different subjects")
                raise IdentityRefused("userinfo sub mismatch")
        return self.get_provider().sociallogin_from_response(request, data)

    def _fetch_user_info(self, access_token: str) -> dict:
        try:
            data = http.call_json(
                SYSTEM,
                "GET",
                self.profile_url,
                timeout=_timeout(),
                headers={"Authorization": f"Bearer {access_token}"},
            )
        except http.ConnectorError as exc:
            if exc.reason == http.REFUSED:
                raise IdentityRefused("userinfo refused") from exc
            raise IdentityUnavailable(exc) from exc
        if not isinstance(data, dict):
            raise IdentityUnavailable(http.ConnectorError(SYSTEM, http.MALFORMED, "userinfo"))
        return data

    def _decode_id_token(self, app: SocialApp, id_token: str) -> dict:
        config = self.openid_config
        try:
            keys = http.call_json(SYSTEM, "GET", config["jwks_uri"], timeout=_timeout())
        except http.ConnectorError as exc:
            raise IdentityUnavailable(exc) from exc
        try:
            key_set = KeySet.import_key_set(keys)
            token = jwt.decode(id_token, key_set, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": config["issuer"]},
                aud={"essential": True, "value": app.client_id},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(token.claims)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            # The reason names the check that failed, never the token or its claims.
            log.warning("identity: id_token refused", extra={"reason": type(exc).__name__})
            raise IdentityRefused(f"id_token refused: {type(exc).__name__}") from exc
        return dict(token.claims)

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        # The code exchange through connectors.http like every other call (allauth's client
        # cannot tell a server that is down from one that refuses): client_secret_post.
        data = {
            "grant_type": "authorization_code",
            "code": get_request_param(request, "code") or "",
            "redirect_uri": client.callback_url,
            "client_id": app.client_id,
            "client_secret": app.secret,
        }
        if pkce_code_verifier:
            data["code_verifier"] = pkce_code_verifier
        try:
            answer = http.call_json(
                SYSTEM,
                "POST",
                self.access_token_url,
                data=data,
                timeout=_timeout(),
                headers={"Accept": "application/json"},
            )
        except http.ConnectorError as exc:
            if exc.reason == http.REFUSED:
                log.warning("identity: code exchange refused", extra={"status": exc.status})
                raise IdentityRefused("code exchange refused") from exc
            raise IdentityUnavailable(exc) from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("access_token"), str):
            raise IdentityUnavailable(http.ConnectorError(SYSTEM, http.MALFORMED, "token"))
        self.did_fetch_access_token = True
        return answer


class NationalIdentityProvider(OpenIDConnectProvider):
    oauth2_adapter_class = NationalIdentityAdapter

    def get_default_scope(self):
        backend = claims.configured()
        return backend.scope if backend is not None else ["openid", "profile"]


provider_classes = [NationalIdentityProvider]
