"""The connector foundation: the registry chosen in settings, the outbound call's failure
reasons, and a sandbox's faults, over real HTTP on loopback."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ImproperlyConfigured

from connectors import http, sandbox
from connectors.registry import Registry


class Echo(sandbox.Sandbox):
    name = "echo-test"

    def route(self, request):
        if request.path == "/echo":
            return sandbox.Response.json({"got": request.json()})
        if request.path == "/teapot":
            return sandbox.Response.json({"error": "no"}, status=418)
        return None


def test_registry_picks_the_configured_backend(settings):
    kind = Registry("test-kind")

    @kind.register("one")
    class One:
        def __init__(self, options):
            self.options = options

    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {"test-kind": {"BACKEND": "one", "URL": "u"}},
    }
    backend = kind.get()
    assert isinstance(backend, One) and backend.options["URL"] == "u"
    assert kind.enabled()

    settings.MOTCUA = {**settings.MOTCUA, "CONNECTORS": {"test-kind": {"BACKEND": ""}}}
    assert kind.get() is None and not kind.enabled()

    settings.MOTCUA = {**settings.MOTCUA, "CONNECTORS": {"test-kind": {"BACKEND": "two"}}}
    with pytest.raises(ImproperlyConfigured, match="'two'.*one"):
        kind.get()
    with pytest.raises(ImproperlyConfigured, match="twice"):
        kind.register("one")(One)


def test_call_json_and_each_failure_reason(run_sandbox):
    echo = run_sandbox(Echo)
    assert http.call_json("echo", "POST", f"{echo.url}/echo", json={"a": 1}, timeout=2) == {
        "got": {"a": 1}
    }
    assert echo.received[-1].headers["content-type"] == "application/json"

    with pytest.raises(http.ConnectorError) as refused:
        http.call_json("echo", "GET", f"{echo.url}/teapot", timeout=2)
    assert refused.value.reason == http.REFUSED and refused.value.status == 418
    assert not refused.value.temporary

    echo.fault = "down"
    with pytest.raises(http.ConnectorError) as down:
        http.call_json("echo", "POST", f"{echo.url}/echo", json={}, timeout=2)
    assert down.value.reason == http.DOWN and down.value.temporary

    echo.fault = "malformed"
    with pytest.raises(http.ConnectorError) as malformed:
        http.call_json("echo", "POST", f"{echo.url}/echo", json={}, timeout=2)
    assert malformed.value.reason == http.MALFORMED

    # Set over HTTP, as a tester does against `make run`'s sandboxes.
    http.call_json(
        "echo", "POST", f"{echo.url}/_sandbox/fault", json={"fault": "slow:1"}, timeout=2
    )
    with pytest.raises(http.ConnectorError) as slow:
        http.call_json("echo", "POST", f"{echo.url}/echo", json={}, timeout=0.3)
    assert slow.value.reason == http.TIMEOUT


def test_a_closed_port_is_down():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(http.ConnectorError) as down:
        http.call_json("nobody", "GET", f"http://127.0.0.1:{port}/", timeout=1)
    assert down.value.reason == http.DOWN
