"""The national portal's adapter: one call, ``push(body)``, that answers when the portal
accepted the step and raises ``ConnectorError`` otherwise.

Chosen in settings (``MOTCUA["CONNECTORS"]["national_portal"]``): BACKEND ``national``,
URL, AUTH (``token``: an access token from ``TOKEN_PATH`` by client credentials, kept in
the cache until shortly before it expires, fetched again once on a 401; ``key``: a
static key in ``KEY_HEADER``), TIMEOUT. The sandbox speaks the same protocol.

The answer: ``error_code`` "0" is acceptance; any other code is a refusal carrying a
message (``REFUSED``, not retried); an answer without a code is ``MALFORMED``.
"""

from __future__ import annotations

from django.core.cache import cache

from connectors.http import MALFORMED, REFUSED, ConnectorError, call_json
from connectors.registry import Registry

from . import fields

SYSTEM = "national_portal"
portal = Registry(SYSTEM)
TOKEN_CACHE_KEY = "motcua:national_portal:token"  # noqa: S105 - a cache key


class NationalPortal:
    def __init__(self, options: dict):
        self.options = options

    def push(self, body: dict) -> dict:  # pragma: no cover - interface
        raise NotImplementedError


@portal.register("national")
class PortalAdapter(NationalPortal):
    @property
    def base(self) -> str:
        return str(self.options.get("URL") or "").rstrip("/")

    @property
    def timeout(self) -> float:
        return float(self.options.get("TIMEOUT") or 10)

    def _token(self, *, fresh: bool = False) -> str:
        key = f"{TOKEN_CACHE_KEY}:{self.base}:{self.options.get('CLIENT_ID', '')}"
        if not fresh:
            token = cache.get(key)
            if token:
                return token
        answer = call_json(
            SYSTEM,
            "POST",
            self.base + self.options.get("TOKEN_PATH", "/token"),
            timeout=self.timeout,
            data={
                "grant_type": "client_credentials",
                "client_id": self.options.get("CLIENT_ID", ""),
                "client_secret": self.options.get("CLIENT_SECRET", ""),
            },
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ConnectorError(SYSTEM, MALFORMED, "no access_token")
        try:
            lifetime = int(answer.get("expires_in") or 300)
        except (TypeError, ValueError):
            lifetime = 300
        cache.set(key, token, timeout=max(lifetime - 30, 1))
        return token

    def _headers(self, *, fresh: bool = False) -> dict[str, str]:
        if self.options.get("AUTH", "token") == "key":
            return {self.options.get("KEY_HEADER") or "X-Api-Key": self.options.get("API_KEY", "")}
        return {"Authorization": f"Bearer {self._token(fresh=fresh)}"}

    def _post(self, body: dict, headers: dict) -> object:
        return call_json(
            SYSTEM,
            "POST",
            self.base + self.options.get("PUSH_PATH", "/dossiers/sync"),
            timeout=self.timeout,
            json=body,
            headers=headers,
        )

    def push(self, body: dict) -> dict:
        try:
            answer = self._post(body, self._headers())
        except ConnectorError as exc:
            if exc.status != 401 or self.options.get("AUTH", "token") == "key":
                raise
            # The token expired early (or the portal restarted): once with a new one.
            answer = self._post(body, self._headers(fresh=True))
        if not isinstance(answer, dict) or fields.ANSWER_CODE not in answer:
            raise ConnectorError(SYSTEM, MALFORMED, "no error code in the answer")
        code = str(answer[fields.ANSWER_CODE])
        if code != fields.ACCEPTED:
            message = str(answer.get(fields.ANSWER_MESSAGE) or "")[:400]
            error = ConnectorError(SYSTEM, REFUSED, f"{code}: {message}")
            error.portal_code = code
            raise error
        return answer
