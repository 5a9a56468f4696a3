"""Each client's own rate limit (requests per minute), counted in the shared cache so that
every node counts the same calls. Over it: 429 with Retry-After (api.errors).

A fixed window per client and minute, counted with the cache's increment (atomic in
Redis, the production cache): parallel requests cannot all read the same count and pass,
as they could with a list read, changed and written back."""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from .models import ApiClient

WINDOW = 60  # seconds


class ClientRateThrottle(BaseThrottle):
    def __init__(self):
        from django.core.cache import cache

        self.cache = cache
        self.wait_seconds: float | None = None

    def allow_request(self, request, view):
        import time

        client = request.auth
        if not isinstance(client, ApiClient):
            return True  # refused by the permission check anyway
        now = time.time()
        window = int(now // WINDOW)
        key = f"motcua:api:throttle:{client.pk}:{window}"
        count = self._count(key)
        if count > client.rate_limit:
            self.wait_seconds = max(1, (window + 1) * WINDOW - now)
            return False
        return True

    def _count(self, key: str) -> int:
        """This call's number in the window: one increment, but for the window's first
        call, which makes the key (or, having lost that race, increments it)."""
        for _attempt in range(3):
            try:
                return self.cache.incr(key)
            except ValueError:  # no key yet (a new window), or it expired just now
                if self.cache.add(key, 1, WINDOW * 2):
                    return 1
        self.cache.set(key, 1, WINDOW * 2)
        return 1

    def wait(self):
        return self.wait_seconds
