"""``Authorization: Bearer <key>``: the client, or 401."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from workflows.compiled import CompiledQuery

from . import keys
from .models import ApiClient

# last_used_at is written at most this often per client, not on every call.
LAST_USED_EVERY = dt.timedelta(minutes=1)

# The key's client (prefixes are unique), with its agency and service account: read on
# every call, its SQL built once per database connection (workflows.compiled).
_BY_PREFIX = CompiledQuery(
    ApiClient,
    lambda prefix: ApiClient.objects.select_related("agency", "user").filter(key_prefix=prefix),
    placeholders=("\x00prefix\x00",),
)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != self.keyword.lower() or not key or len(key) > 200:
            raise exceptions.AuthenticationFailed(
                _("Send the key as “Authorization: Bearer <key>”.")
            )
        prefix = keys.prefix_of(key)
        found = _BY_PREFIX(prefix) if prefix else []
        client = found[0] if found else None
        if client is None or not keys.matches(key, client.key_hash):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if not client.is_active:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > LAST_USED_EVERY:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)
            client.last_used_at = now
        # The call record (api.middleware) reads it from the Django request.
        request._request.api_client = client
        return client.user, client

    def authenticate_header(self, request):
        return f'{self.keyword} realm="motcua"'
