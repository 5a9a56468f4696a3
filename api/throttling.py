"""Each client's own rate limit (requests per minute), in the shared cache, so that every
node counts the same calls. Over it: 429 with Retry-After (api.errors)."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from .models import ApiClient


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api-client"
    cache_format = "motcua:api:throttle:%(ident)s"

    def get_rate(self):  # the rate is per client: set in allow_request
        return None

    def allow_request(self, request, view):
        client = request.auth
        if not isinstance(client, ApiClient):
            return True  # refused by the permission check anyway
        self.num_requests, self.duration = client.rate_limit, 60
        self.key = self.cache_format % {"ident": client.pk}
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()
