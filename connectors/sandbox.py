"""Sandboxes: small local HTTP services that behave like the national systems, for the demo
and the tests (never mocks: the adapters talk to them over real HTTP on loopback).

Each system's sandbox lives in ``connectors/<system>/sandbox.py`` and registers itself:

    @register
    class PaymentSandbox(Sandbox):
        name = "payment"
        port_offset = 3          # make run: SANDBOX_PORT + 3

        def route(self, request):
            if request.path == "/init" and request.method == "POST":
                return Response.json({...})
            return None           # 404

A sandbox keeps its state in memory (what it received, in order: ``received``), runs in a
thread (``start()`` returns its URL) and can be told to misbehave, in a test by setting
``fault`` or over HTTP with ``POST /_sandbox/fault`` (``{"fault": "down"}``):

- ``"down"``: every request is answered 503;
- ``"slow:<seconds>"``: every answer waits that long first;
- ``"malformed"``: every answer is a broken body;
- anything else a sandbox understands itself (``"bad-signature"``, ...).

``manage.py run_sandboxes`` (started by ``make run``) runs every sandbox at
SANDBOX_PORT + its offset; the settings' defaults under DEBUG point at those addresses.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_PORT = 8490

_sandboxes: dict[str, type[Sandbox]] = {}


def register(cls: type[Sandbox]) -> type[Sandbox]:
    _sandboxes[cls.name] = cls
    return cls


def discover() -> dict[str, type[Sandbox]]:
    """Import every ``connectors.<system>.sandbox`` module; return the registered classes."""
    package = Path(__file__).parent
    for module in pkgutil.iter_modules([str(package)]):
        if module.ispkg and (package / module.name / "sandbox.py").exists():
            importlib.import_module(f"connectors.{module.name}.sandbox")
    return dict(_sandboxes)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Response:
        return cls(
            status,
            json.dumps(data, ensure_ascii=False).encode(),
            "application/json; charset=utf-8",
            headers,
        )

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", "text/plain", {"Location": location})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (a timeout test) closed the socket before the answer.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class Sandbox:
    name = ""
    port_offset = 0

    def __init__(self, **options: Any):
        # motcua_url: where the sandbox calls motcua back (payment confirmations, ...).
        self.options = options
        self.fault = ""
        self.received: list[Request] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # --- what a system does (override) ---
    def route(self, request: Request) -> Response | None:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- running ---
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        sandbox = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=parsed.path,
                    query={k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = sandbox.dispatch(request)
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args):  # the test output stays readable
                pass

        self._server = _Server((host, port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://{host}:{self._server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def dispatch(self, request: Request) -> Response:
        if request.path == "/_sandbox/fault" and request.method == "POST":
            self.fault = str((request.json() or {}).get("fault", ""))
            return Response.json({"fault": self.fault})
        fault = self.fault
        if fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        if fault == "down":
            return Response(503, b"Service Unavailable")
        with self.lock:
            self.received.append(request)
        response = self.route(request) or Response(404, b"Not Found")
        if fault == "malformed":
            response = Response(response.status, b"{<html>not json", response.content_type)
        return response


def people() -> list[dict]:
    """The invented people every sandbox knows (connectors/sandbox_people.yaml)."""
    import yaml

    with open(Path(__file__).with_name("sandbox_people.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)
