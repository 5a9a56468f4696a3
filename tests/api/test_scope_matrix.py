"""Every operation of the API, read from its own schema: no key → 401, a key without the
operation's scope → 403, and no operation without a scope. (Each part's own tests check
that another agency's objects are 404.)"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from api.models import Scope
from api.permissions import required_scope

from .conftest import Api, make_api_client

pytestmark = pytest.mark.django_db

PUBLIC = {"/api/v1/schema/"}


def _operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = []
    for path, item in schema["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((path, method.upper()))
    return sorted(ops)


def _concrete(path: str) -> str:
    """The path with each parameter filled: ids with 1, the delivery's UUID with zeros."""
    path = path.replace("{delivery_id}", "00000000-0000-0000-0000-000000000000")
    return re.sub(r"\{[^}]+\}", "1", path)


def _scope_of(path: str, method: str) -> str | None:
    match = resolve(_concrete(path))
    cls = match.func.cls
    view = cls(**getattr(match.func, "initkwargs", {}))
    actions = getattr(match.func, "actions", None) or {}
    view.action = actions.get(method.lower())
    return required_scope(view, SimpleNamespace(method=method))


OPERATIONS = _operations()


def test_the_schema_lists_operations():
    assert len(OPERATIONS) >= 5


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_operation_needs_a_key_and_its_scope(province, path, method):
    if path in PUBLIC:
        return
    scope = _scope_of(path, method)
    assert scope in Scope.values, f"{method} {path} names no scope"
    url = _concrete(path)

    def call(api: Api):
        return api.http.generic(
            method, url, b"{}", content_type="application/json", headers=api.headers()
        )

    no_key = call(Api(None))
    assert no_key.status_code == 401, (method, url, no_key.content)
    assert no_key["Content-Type"] == "application/problem+json"
    others = [s for s in Scope.values if s != scope]
    _client, key = make_api_client(province, others)
    wrong = call(Api(key))
    assert wrong.status_code == 403, (method, url, wrong.content)
    assert scope in wrong.json()["detail"]
