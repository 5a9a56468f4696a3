"""API test helpers: a client with a real key, and calls made with it over the test client."""

from __future__ import annotations

import pytest
from django.test import Client

from api.models import Scope
from api.services import api_client_create

ALL_SCOPES = list(Scope.values)


def make_api_client(agency, scopes=ALL_SCOPES, name: str | None = None, **extra):
    """(ApiClient, key) made through the real service."""
    from itertools import count

    make_api_client.counter = getattr(make_api_client, "counter", count(1))
    return api_client_create(
        name=name or f"client-{next(make_api_client.counter)}",
        agency=agency,
        scopes=list(scopes),
        **extra,
    )


class Api:
    """Calls with ``Authorization: Bearer <key>`` (or none), JSON by default."""

    def __init__(self, key: str | None, language: str = "en"):
        self.http = Client()
        self.key = key
        self.language = language

    def headers(self, extra: dict | None = None) -> dict:
        headers = {"Accept-Language": self.language}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        return {**headers, **(extra or {})}

    def get(self, url, data=None, headers=None):
        return self.http.get(url, data, headers=self.headers(headers))

    def post(self, url, data=None, *, json: bool = True, headers=None):
        if json:
            return self.http.post(
                url, data or {}, content_type="application/json", headers=self.headers(headers)
            )
        return self.http.post(url, data or {}, headers=self.headers(headers))  # multipart

    def delete(self, url, headers=None):
        return self.http.delete(url, headers=self.headers(headers))


@pytest.fixture
def api_pair(province):
    """An API client of the test province with every scope, and its key."""
    return make_api_client(province)


@pytest.fixture
def api(api_pair) -> Api:
    return Api(api_pair[1])
